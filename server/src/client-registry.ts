// Registered clients: identity, shared encryption key, replay state and the socket they are on.
import nacl from 'tweetnacl';

export interface RegisteredClient {
  clientId: string;
  signingPublicKey: Uint8Array;
  boxPublicKey: Uint8Array;
  /** nacl.box.before(client box key, coordinator box secret key), computed once. */
  sharedKey: Uint8Array;
  /** Highest upload sequence number accepted; later uploads must exceed it. */
  lastSequence: number;
  exampleCount: number;
  /** Id of the socket the client is on now, or null while it is disconnected. */
  socketId: string | null;
  bytesReceived: number;
  /** Method that first admitted the client: open, allowlist or token. */
  enrolledBy: string;
}

export class ClientRegistry {
  private readonly clients = new Map<string, RegisteredClient>();
  private readonly clientBySocket = new Map<string, string>();

  /** Adds a client or moves a known one to a new socket; its replay state is kept. */
  register(
    clientId: string,
    keys: { signingPublicKey: Uint8Array; boxPublicKey: Uint8Array },
    exampleCount: number,
    socketId: string,
    coordinatorBoxSecretKey: Uint8Array,
    enrolledBy: string,
  ): RegisteredClient {
    let client = this.clients.get(clientId);
    if (client === undefined || !sameBytes(client.boxPublicKey, keys.boxPublicKey)) {
      client = {
        clientId,
        signingPublicKey: keys.signingPublicKey,
        boxPublicKey: keys.boxPublicKey,
        sharedKey: nacl.box.before(keys.boxPublicKey, coordinatorBoxSecretKey),
        lastSequence: client?.lastSequence ?? 0,
        exampleCount,
        socketId: null,
        bytesReceived: client?.bytesReceived ?? 0,
        enrolledBy,
      };
      this.clients.set(clientId, client);
    }

    if (client.socketId !== null) this.clientBySocket.delete(client.socketId);
    client.socketId = socketId;
    client.exampleCount = exampleCount;
    this.clientBySocket.set(socketId, clientId);
    return client;
  }

  /** Adds a client read back from the database, not connected. */
  restore(client: Omit<RegisteredClient, 'sharedKey' | 'socketId'>, coordinatorBoxSecretKey: Uint8Array): void {
    this.clients.set(client.clientId, {
      ...client,
      sharedKey: nacl.box.before(client.boxPublicKey, coordinatorBoxSecretKey),
      socketId: null,
    });
  }

  disconnect(socketId: string): RegisteredClient | undefined {
    const clientId = this.clientBySocket.get(socketId);
    this.clientBySocket.delete(socketId);
    const client = clientId === undefined ? undefined : this.clients.get(clientId);
    if (client && client.socketId === socketId) client.socketId = null;
    return client;
  }

  bySocket(socketId: string): RegisteredClient | undefined {
    const clientId = this.clientBySocket.get(socketId);
    return clientId === undefined ? undefined : this.clients.get(clientId);
  }

  get(clientId: string): RegisteredClient | undefined {
    return this.clients.get(clientId);
  }

  connected(): RegisteredClient[] {
    return [...this.clients.values()].filter((client) => client.socketId !== null);
  }

  all(): RegisteredClient[] {
    return [...this.clients.values()];
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

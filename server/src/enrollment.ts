// Who may join a federation. A coordinator runs in one of three modes:
// - open: any client with a valid key pair and signature joins (an explicit choice);
// - allowlist: only clients whose id is on the operator's list;
// - token: a client joins by presenting a one-time enrollment token, and stays enrolled after.
// In every mode the client has already proven, by signing the connection's challenge, that it
// has the signing key its id is derived from.
import { createHash } from 'node:crypto';

import type { CoordinatorStore } from './coordinator-store.js';
import { MessageRejection } from './message-checks.js';

export const ENROLLMENT_MODES = ['open', 'allowlist', 'token'] as const;
export type EnrollmentMode = (typeof ENROLLMENT_MODES)[number];

export interface EnrollmentSettings {
  mode: EnrollmentMode;
  /** Client ids admitted in allowlist mode (see `distillate keys show`). */
  allowlist: string[];
  /** One-time tokens accepted in token mode; each admits one client. */
  tokens: string[];
}

/** Method that admitted a client: the open mode, the allowlist, a token, or an earlier token enrollment. */
export type EnrollmentMethod = 'open' | 'allowlist' | 'token' | 'known';

const CLIENT_ID = /^[0-9a-f]{32}$/;

export function checkEnrollmentSettings(settings: EnrollmentSettings): void {
  if (!ENROLLMENT_MODES.includes(settings.mode)) {
    throw new Error(`enrollment.mode (--enrollment) is "${String(settings.mode)}"; expected one of ${ENROLLMENT_MODES.join(', ')}.`);
  }
  const badId = settings.allowlist.find((clientId) => !CLIENT_ID.test(clientId));
  if (badId !== undefined) {
    throw new Error(`enrollment.allowlist contains "${badId}", which is not a client id; expected 32 lowercase hex digits, as \`distillate keys show\` prints.`);
  }
  const badToken = settings.tokens.find((token) => typeof token !== 'string' || token.length < 16 || token.length > 256);
  if (badToken !== undefined) {
    throw new Error('enrollment.tokens contains a token shorter than 16 or longer than 256 characters; use long random tokens, such as `distillate tokens` prints.');
  }
  if (settings.mode === 'allowlist' && settings.allowlist.length === 0) {
    throw new Error(
      'enrollment.mode is allowlist but the allowlist is empty, so no client could join. ' +
        'Give a file of client ids with --allowlist (or list them in enrollment.allowlist of the config file), or choose another mode.',
    );
  }
  if (settings.mode === 'token' && settings.tokens.length === 0) {
    throw new Error(
      'enrollment.mode is token but no tokens are configured, so no new client could join. ' +
        'Give a file of tokens with --tokens (`distillate tokens` prints new ones), or choose another mode.',
    );
  }
}

export class Enrollment {
  private readonly allowlist: ReadonlySet<string>;
  private readonly tokenHashes: ReadonlySet<string>;

  constructor(
    private readonly settings: EnrollmentSettings,
    private readonly store: CoordinatorStore,
  ) {
    this.allowlist = new Set(settings.allowlist);
    this.tokenHashes = new Set(settings.tokens.map(hashToken));
  }

  get mode(): EnrollmentMode {
    return this.settings.mode;
  }

  /**
   * Admits a client, or throws a rejection that tells the client's operator what to do.
   * `enrolledBy` is how the client was admitted before, when the registry has the client.
   */
  admit(clientId: string, enrolledBy: string | null, token: string | undefined): EnrollmentMethod {
    switch (this.settings.mode) {
      case 'open':
        return 'open';

      case 'allowlist':
        if (this.allowlist.has(clientId)) return 'allowlist';
        throw new MessageRejection(
          'not-enrolled',
          `Client ${clientId} is not on this coordinator's allowlist. Send its id (\`distillate keys show\`) to the coordinator's operator.`,
        );

      case 'token': {
        if (enrolledBy === 'token' || enrolledBy === 'known') return 'known';
        if (token === undefined) {
          throw new MessageRejection('not-enrolled', `Client ${clientId} is not enrolled and sent no enrollment token. Ask the operator for a token and pass it with --token.`);
        }
        const tokenHash = hashToken(token);
        if (!this.tokenHashes.has(tokenHash)) {
          throw new MessageRejection('not-enrolled', `The enrollment token of client ${clientId} is not valid here. Check it, or ask the operator for a new one.`);
        }
        if (!this.store.useToken(tokenHash, clientId)) {
          throw new MessageRejection('not-enrolled', `The enrollment token of client ${clientId} was already used by another client. Ask the operator for a new one.`);
        }
        return 'token';
      }
    }
  }
}

/** Tokens are compared and stored as SHA-256 digests, so the database never contains a usable token. */
function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

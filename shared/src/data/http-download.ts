// Streams an HTTP(S) response body into a file with Node's built-in fetch, reporting progress
// and giving up when the server sends nothing for a while.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface FileDownloadOptions {
  /** Called after each chunk with the bytes received so far and the expected total, if known. */
  onProgress?: (receivedBytes: number, totalBytes: number | null) => void;
  /** Milliseconds without any byte from the server, while connecting or reading, before the download fails. Default 60,000. */
  idleTimeoutMs?: number;
  /** Stops the download; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Checks that `url` is an absolute http:// or https:// URL and returns it parsed. */
export function parseDownloadUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`Invalid download URL "${url}": give an absolute http:// or https:// address.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`Invalid download URL "${url}": only http:// and https:// are supported.`);
  }
  return parsed;
}

/**
 * Downloads `url` into `destination`, overwriting it, and returns the number of bytes written.
 * Redirects are followed. A partial file is left in place on failure: the caller owns
 * `destination` and should give it a temporary name.
 */
export async function downloadToFile(
  url: string,
  destination: string,
  options: FileDownloadOptions = {},
): Promise<number> {
  parseDownloadUrl(url);
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const advice = 'Check the network connection, or pass --url with the address of a mirror of the archive.';

  // One controller stops the request, the body and the file write, whether the caller aborts
  // or the idle timer fires.
  const controller = new AbortController();
  const callerSignal = options.signal;
  const forwardAbort = () => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) forwardAbort();
  callerSignal?.addEventListener('abort', forwardAbort, { once: true });

  let timedOut = false;
  const idleTimer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`Download of ${url} timed out: no data for ${idleTimeoutMs / 1000} s. ${advice}`));
  }, idleTimeoutMs);

  let receivedBytes = 0;
  try {
    const response = await fetch(url, { signal: controller.signal }).catch((error: unknown) => {
      if (controller.signal.aborted) throw controller.signal.reason;
      throw new Error(`Download of ${url} failed: ${describeFetchError(error)}. ${advice}`);
    });
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(
        `Download of ${url} failed: the server returned HTTP ${response.status} ${response.statusText}. ` +
          'Check the URL, or pass --url with the address of a mirror of the archive.',
      );
    }

    // With a Content-Encoding, fetch decompresses the body and Content-Length no longer counts
    // the bytes that arrive.
    const contentLength = Number(response.headers.get('content-length'));
    const totalBytes =
      response.headers.get('content-encoding') === null && Number.isFinite(contentLength) && contentLength > 0
        ? contentLength
        : null;
    idleTimer.refresh();
    options.onProgress?.(0, totalBytes);

    const countChunks = async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        receivedBytes += chunk.length;
        idleTimer.refresh();
        options.onProgress?.(receivedBytes, totalBytes);
        yield chunk;
      }
    };
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    await pipeline(body, countChunks, createWriteStream(destination), { signal: controller.signal }).catch(
      (error: unknown) => {
        if (controller.signal.aborted) throw controller.signal.reason;
        throw new Error(`Download of ${url} failed after ${receivedBytes} bytes: ${describeFetchError(error)}. ${advice}`);
      },
    );
    return receivedBytes;
  } catch (error) {
    if (timedOut) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(idleTimer);
    callerSignal?.removeEventListener('abort', forwardAbort);
  }
}

/** Returns the most specific message of a fetch error: undici puts the socket error in `cause`. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error && cause.message !== '') return `${error.message} (${cause.message})`;
  return error.message;
}

import { HttpError } from "@cb/core";
import { Unzip, UnzipInflate } from "fflate";

export interface ZipLimits {
  /** Files in the archive. */
  entries: number;
  /** Bytes one file may inflate to. */
  entryBytes: number;
  /** Bytes all files together may inflate to. */
  totalBytes: number;
}

/** Far above the largest real Dialogflow agent export, far below what would strain a server. */
export const AGENT_ZIP_LIMITS: ZipLimits = {
  entries: 20_000,
  entryBytes: 8 * 1024 * 1024,
  totalBytes: 64 * 1024 * 1024,
};

const tooLarge = (message: string) => new HttpError(413, "archive_too_large", message);
const invalid = (message: string) => new HttpError(400, "invalid_zip", message);

/**
 * The files of a zip archive, inflated chunk by chunk with the bytes counted as they come: a zip
 * bomb is refused as soon as it passes a limit, instead of being inflated whole first. The sizes an
 * archive's headers declare are the sender's to choose, so they are not trusted. A limit throws
 * from inside the inflater's callback, which stops the inflating at once.
 */
export function unzipWithLimits(zip: Uint8Array, limits: ZipLimits): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  let entries = 0;
  let total = 0;
  const unzip = new Unzip((file) => {
    if (++entries > limits.entries) throw tooLarge(`the archive holds more than ${limits.entries} files`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    file.ondata = (err, chunk, final) => {
      // fflate hands a throw from this callback back to it as `err`: a limit's own error goes on as it is.
      if (err) throw (err as unknown) instanceof HttpError ? err : invalid(`${file.name} cannot be inflated`);
      size += chunk.length;
      total += chunk.length;
      if (size > limits.entryBytes) throw tooLarge(`${file.name} inflates to more than ${limits.entryBytes} bytes`);
      if (total > limits.totalBytes) throw tooLarge(`the archive inflates to more than ${limits.totalBytes} bytes`);
      chunks.push(chunk);
      if (final && !file.name.endsWith("/")) files[file.name] = Buffer.concat(chunks);
    };
    try {
      file.start();
    } catch {
      throw invalid(`${file.name} uses a compression method other than stored or deflate`);
    }
  });
  unzip.register(UnzipInflate);
  try {
    unzip.push(zip, true);
  } catch (err) {
    throw err instanceof HttpError ? err : invalid("the body is not a zip archive");
  }
  if (entries === 0) throw invalid("the body is not a zip archive");
  return files;
}

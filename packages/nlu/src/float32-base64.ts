// Float32 arrays as base64 text: how weights and vectors cross to PostgreSQL (decoded there into
// bytea) and into stored models' JSON. The machine's byte order, little-endian wherever Node runs here.

export const float32ToBase64 = (v: Float32Array): string =>
  Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");

/** A copy in an array buffer of its own, aligned for Float32Array (a decoded Buffer may sit at any offset of a shared pool). */
export function float32FromBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

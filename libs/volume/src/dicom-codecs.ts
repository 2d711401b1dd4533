/**
 * DICOM transfer syntaxes and the decoders behind them. Compressed pixel data is decoded by kept
 * npm packages — OpenJPEG (JPEG 2000), CharLS (JPEG-LS) and libjpeg-turbo (JPEG baseline), all
 * WebAssembly builds from the Cornerstone project, and jpeg-lossless-decoder-js (JPEG lossless,
 * the common CT archive syntax). Each is loaded on first use, so an uncompressed series loads no
 * WebAssembly. RLE Lossless (PS3.5 Annex G) is PackBits per byte plane, decoded here.
 */

export type SyntaxKind = "native" | "native-big-endian" | "deflated" | "rle" | "jpeg-baseline" | "jpeg-lossless" | "jpeg-ls" | "jpeg2000"

export interface TransferSyntax {
  readonly uid: string
  readonly name: string
  readonly kind: SyntaxKind
}

const syntax = (uid: string, name: string, kind: SyntaxKind): [string, TransferSyntax] => [uid, { uid, name, kind }]

export const TRANSFER_SYNTAXES: ReadonlyMap<string, TransferSyntax> = new Map([
  syntax("1.2.840.10008.1.2", "Implicit VR Little Endian", "native"),
  syntax("1.2.840.10008.1.2.1", "Explicit VR Little Endian", "native"),
  syntax("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", "deflated"),
  syntax("1.2.840.10008.1.2.2", "Explicit VR Big Endian", "native-big-endian"),
  syntax("1.2.840.10008.1.2.5", "RLE Lossless", "rle"),
  syntax("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", "jpeg-baseline"),
  syntax("1.2.840.10008.1.2.4.57", "JPEG Lossless (Process 14)", "jpeg-lossless"),
  syntax("1.2.840.10008.1.2.4.70", "JPEG Lossless SV1 (Process 14, first-order prediction)", "jpeg-lossless"),
  syntax("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", "jpeg-ls"),
  syntax("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless", "jpeg-ls"),
  syntax("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless", "jpeg2000"),
  syntax("1.2.840.10008.1.2.4.91", "JPEG 2000", "jpeg2000")
])

/** Syntaxes met in the wild that no decoder here reads, named in the error. */
export const UNSUPPORTED_SYNTAXES: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4, 12-bit lossy)",
  "1.2.840.10008.1.2.4.92": "JPEG 2000 Part 2 Multi-component Lossless",
  "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2 Multi-component",
  "1.2.840.10008.1.2.4.94": "JPIP Referenced",
  "1.2.840.10008.1.2.4.95": "JPIP Referenced Deflate",
  "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile",
  "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264",
  "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 Lossless",
  "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 (RPCL) Lossless",
  "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000"
}

/** What the decoder needs to know of the image besides its bytes. */
export interface FrameLayout {
  readonly rows: number
  readonly columns: number
  /** 8, 16 or 32. */
  readonly bitsAllocated: number
}

interface Wasm {
  readonly J2KDecoder?: new () => EmscriptenDecoder
  readonly JpegLSDecoder?: new () => EmscriptenDecoder
  readonly JPEGDecoder?: new () => EmscriptenDecoder
}

/** OpenJPEG logs every header it reads; errors still surface as exceptions. */
const QUIET = { print: () => undefined, printErr: () => undefined }

const loaded = new Map<SyntaxKind, Promise<Wasm>>()
const wasmFor = (kind: "jpeg2000" | "jpeg-ls" | "jpeg-baseline"): Promise<Wasm> => {
  let p = loaded.get(kind)
  if (!p) {
    p =
      kind === "jpeg2000"
        ? import("@cornerstonejs/codec-openjpeg/decodewasmjs").then((m) => m.default(QUIET))
        : kind === "jpeg-ls"
          ? import("@cornerstonejs/codec-charls/decodewasmjs").then((m) => m.default(QUIET))
          : import("@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs").then((m) => m.default(QUIET))
    loaded.set(kind, p)
  }
  return p
}

const runEmscripten = (decoder: EmscriptenDecoder, frame: Uint8Array, layout: FrameLayout): Uint8Array => {
  try {
    decoder.getEncodedBuffer(frame.length).set(frame)
    decoder.decode()
    const info = decoder.getFrameInfo()
    if (info.width !== layout.columns || info.height !== layout.rows || info.componentCount !== 1)
      throw new Error(
        `the compressed image is ${info.width}×${info.height} with ${info.componentCount} component(s), ` +
          `the header says ${layout.columns}×${layout.rows} grey`
      )
    // the decoded buffer is a view into the wasm heap, reused by the next decode
    return decoder.getDecodedBuffer().slice()
  } finally {
    decoder.delete()
  }
}

/** PackBits (the byte-plane coding of DICOM RLE) into `out`; returns the bytes written. */
const unpackBits = (src: Uint8Array, start: number, end: number, out: Uint8Array): number => {
  let i = start
  let o = 0
  while (i < end && o < out.length) {
    const n = (src[i++] << 24) >> 24
    if (n >= 0) {
      const count = Math.min(n + 1, end - i, out.length - o)
      out.set(src.subarray(i, i + count), o)
      i += n + 1
      o += count
    } else if (n !== -128) {
      const count = Math.min(1 - n, out.length - o)
      out.fill(src[i++], o, o + count)
      o += count
    }
  }
  return o
}

/** RLE Lossless: a 64-byte header of segment offsets, one segment per byte plane, most significant first. */
const decodeRle = (frame: Uint8Array, layout: FrameLayout): Uint8Array => {
  if (frame.length < 64) throw new Error(`RLE frame of ${frame.length} bytes is shorter than its 64-byte header`)
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const segments = view.getUint32(0, true)
  const bytes = layout.bitsAllocated / 8
  if (segments !== bytes) throw new Error(`RLE frame has ${segments} segments; ${layout.bitsAllocated}-bit grey pixels need ${bytes}`)
  const pixels = layout.rows * layout.columns
  const out = new Uint8Array(pixels * bytes)
  const plane = new Uint8Array(pixels)
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true)
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : frame.length
    if (start < 64 || end > frame.length || end < start) throw new Error(`RLE segment ${s} offsets ${start}..${end} lie outside the frame`)
    const got = unpackBits(frame, start, end, plane)
    if (got < pixels) throw new Error(`RLE segment ${s} decodes to ${got} bytes, expected ${pixels}`)
    // little-endian result: the most significant plane (s = 0) goes to the highest byte
    const shift = bytes - 1 - s
    for (let p = 0; p < pixels; p++) out[p * bytes + shift] = plane[p]
  }
  return out
}

/**
 * Decodes one compressed frame to little-endian sample bytes (rows × columns × bitsAllocated/8).
 * Signedness and BitsStored are applied by the caller, which knows the header.
 */
export const decodeFrame = async (kind: SyntaxKind, frame: Uint8Array, layout: FrameLayout): Promise<Uint8Array> => {
  switch (kind) {
    case "rle":
      return decodeRle(frame, layout)
    case "jpeg-lossless": {
      const { Decoder } = await import("jpeg-lossless-decoder-js")
      const decoded = new Decoder().decode(frame.buffer, frame.byteOffset, frame.byteLength, layout.bitsAllocated > 8 ? 2 : 1)
      return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength)
    }
    case "jpeg2000":
      return runEmscripten(new (await wasmFor(kind)).J2KDecoder!(), frame, layout)
    case "jpeg-ls":
      return runEmscripten(new (await wasmFor(kind)).JpegLSDecoder!(), frame, layout)
    case "jpeg-baseline":
      return runEmscripten(new (await wasmFor(kind)).JPEGDecoder!(), frame, layout)
    default:
      throw new Error(`${kind} pixel data is not compressed`)
  }
}

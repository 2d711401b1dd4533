// The DICOM codec packages ship no type declarations; these cover the calls dicom-codecs.ts makes.

interface EmscriptenOptions {
  print?: (text: string) => void
  printErr?: (text: string) => void
}

interface EmscriptenDecoder {
  getEncodedBuffer(length: number): Uint8Array
  decode(): void
  getDecodedBuffer(): Uint8Array
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean }
  delete(): void
}

declare module "@cornerstonejs/codec-openjpeg/decodewasmjs" {
  const factory: (module?: EmscriptenOptions) => Promise<{ J2KDecoder: new () => EmscriptenDecoder }>
  export default factory
}
declare module "@cornerstonejs/codec-charls/decodewasmjs" {
  const factory: (module?: EmscriptenOptions) => Promise<{ JpegLSDecoder: new () => EmscriptenDecoder }>
  export default factory
}
declare module "@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs" {
  const factory: (module?: EmscriptenOptions) => Promise<{ JPEGDecoder: new () => EmscriptenDecoder }>
  export default factory
}
declare module "jpeg-lossless-decoder-js" {
  export class Decoder {
    decode(buffer: ArrayBufferLike, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array
  }
}
declare module "h5wasm-plugins" {
  export function install_local_plugins(module: unknown): void
}

import { Schema } from "effect"

/** Voxel types of the stored volume format. Everything a reader meets is mapped onto one of these. */
export const Dtypes = ["uint8", "int16", "uint16", "int32", "float32"] as const
export const DtypeSchema = Schema.Literals(Dtypes)
export type Dtype = (typeof Dtypes)[number]

export const LabelDtypes = ["uint8", "uint16"] as const
export const LabelDtypeSchema = Schema.Literals(LabelDtypes)
export type LabelDtype = (typeof LabelDtypes)[number]

export type VoxelArray = Uint8Array | Int16Array | Uint16Array | Int32Array | Float32Array
export type LabelArray = Uint8Array | Uint16Array

/** Sample types met on disk (NIfTI datatypes, TIFF bits/format), wider than the stored `Dtype`s. */
export type RawArray = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array

export interface RawSample {
  readonly name: string
  readonly bytes: number
  readonly make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => RawArray
  /** The stored dtype its values are kept in (int8 widens to int16; uint32 and float64 become float32). */
  readonly dtype: Dtype
  readonly integer: boolean
}

const raw = (name: string, bytes: number, make: RawSample["make"], dtype: Dtype, integer: boolean): RawSample => ({
  name,
  bytes,
  make,
  dtype,
  integer
})

export const RAW_SAMPLES = {
  uint8: raw("uint8", 1, (b, o, n) => new Uint8Array(b, o, n), "uint8", true),
  int8: raw("int8", 1, (b, o, n) => new Int8Array(b, o, n), "int16", true),
  uint16: raw("uint16", 2, (b, o, n) => new Uint16Array(b, o, n), "uint16", true),
  int16: raw("int16", 2, (b, o, n) => new Int16Array(b, o, n), "int16", true),
  uint32: raw("uint32", 4, (b, o, n) => new Uint32Array(b, o, n), "float32", true),
  int32: raw("int32", 4, (b, o, n) => new Int32Array(b, o, n), "int32", true),
  float32: raw("float32", 4, (b, o, n) => new Float32Array(b, o, n), "float32", false),
  float64: raw("float64", 8, (b, o, n) => new Float64Array(b, o, n), "float32", false)
} as const

export const bytesPerVoxel = (dtype: Dtype): number => (dtype === "uint8" ? 1 : dtype === "int16" || dtype === "uint16" ? 2 : 4)

/** A typed array of `dtype` viewing `bytes` (which must be aligned to the element size). */
export const viewAs = (dtype: Dtype, buffer: ArrayBufferLike, byteOffset: number, length: number): VoxelArray => {
  switch (dtype) {
    case "uint8":
      return new Uint8Array(buffer, byteOffset, length)
    case "int16":
      return new Int16Array(buffer, byteOffset, length)
    case "uint16":
      return new Uint16Array(buffer, byteOffset, length)
    case "int32":
      return new Int32Array(buffer, byteOffset, length)
    case "float32":
      return new Float32Array(buffer, byteOffset, length)
  }
}

export const allocate = (dtype: Dtype, length: number): VoxelArray =>
  viewAs(dtype, new ArrayBuffer(length * bytesPerVoxel(dtype)), 0, length)

/** The stored dtype that holds every value of an integer range exactly, or float32. */
export const dtypeForRange = (min: number, max: number, integral: boolean): Dtype => {
  if (!integral) return "float32"
  if (min >= 0 && max <= 255) return "uint8"
  if (min >= -32768 && max <= 32767) return "int16"
  if (min >= 0 && max <= 65535) return "uint16"
  if (min >= -2147483648 && max <= 2147483647) return "int32"
  return "float32"
}

/** The native byte order is little-endian on every platform Node ships for; checked once. */
export const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

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

export const bytesPerVoxel = (dtype: Dtype): number =>
  dtype === "uint8" ? 1 : dtype === "int16" || dtype === "uint16" ? 2 : 4

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

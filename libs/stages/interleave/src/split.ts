/** Slice indices of part `j` of `parts` of a `depth`-slice volume: j, j + parts, … */
export const partSlices = (depth: number, parts: number, j: number): Array<number> =>
  Array.from({ length: Math.max(0, Math.ceil((depth - j) / parts)) }, (_, m) => j + m * parts)

/**
 * The index → world affine of part `j`: one step along z is `parts` steps of the source, starting
 * at its slice j (the affine's columns are x, y, z, translation).
 */
export const partAffine = (affine: ReadonlyArray<ReadonlyArray<number>>, parts: number, j: number): Array<Array<number>> =>
  affine.map((row) => [row[0], row[1], row[2] * parts, row[3] + row[2] * j])

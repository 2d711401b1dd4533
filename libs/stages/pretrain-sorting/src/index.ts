import { pretrainSorting } from "./stage.ts"

export { pretrainSorting, SortingParams } from "./stage.ts"
export const stages = [pretrainSorting]

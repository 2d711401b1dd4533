import { pretrainSimclr } from "./stage.ts"

export { pretrainSimclr, SimclrParams } from "./stage.ts"
export const stages = [pretrainSimclr]

export const stages = []

/** Task modules shipped with the trainer, by URL (what `makeTrainer({ task: { module } })` takes). */
export const rankingTask = new URL("./ranking.ts", import.meta.url)
export const segmentationTask = new URL("./segmentation.ts", import.meta.url)

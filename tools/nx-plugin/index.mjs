// Nx loads plug-ins with require()/import(), and Node 20 cannot run TypeScript, so this entry loads the
// TypeScript source through tsx's scoped loader (nothing is registered for the rest of the process).
import { tsImport } from "tsx/esm/api"

const plugin = await tsImport("./src/plugin.ts", import.meta.url)
export const { createNodes, createDependencies } = plugin

import assert from "node:assert/strict"
import { test } from "node:test"
import { Effect, Exit, Schema } from "effect"
import { type ArtifactRef, MANIFEST_SCHEMA_VERSION, type ReportIndex } from "./artifacts.ts"
import { makeStageContext, type StageFiles } from "./context.ts"
import { InputError, OutputError } from "./errors.ts"
import { defineStage } from "./stage.ts"

/** Files in a map; writes of `full` fail as a full disk does. */
const memoryFiles = (initial: Record<string, string>, full?: string) => {
  const files = new Map(Object.entries(initial).map(([k, v]) => [k, new TextEncoder().encode(v)]))
  const access: StageFiles = {
    read: async (file) => {
      const bytes = files.get(file)
      if (!bytes) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: "ENOENT", path: file })
      return bytes
    },
    write: async (file, data) => {
      if (file === full) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })
      files.set(file, typeof data === "string" ? new TextEncoder().encode(data) : Uint8Array.from(data))
    }
  }
  return { access, text: (file: string) => new TextDecoder().decode(files.get(file)) }
}

const stage = defineStage({
  name: "probe",
  version: "1",
  description: "",
  source: "",
  inputs: { volumes: { kind: "VolumeSet" } },
  outputs: { report: "Report" },
  params: Schema.Struct({}),
  run: () => Effect.void
})

const ref = (dir: string): ArtifactRef<"VolumeSet"> => ({
  kind: "VolumeSet",
  dir,
  hash: "h",
  producer: "data",
  manifest: {
    kind: "VolumeSet",
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    hash: "h",
    files: [],
    provenance: { pipeline: "", stage: "", uses: "", key: "", startedAt: "", endedAt: "", tool: "", extra: {} }
  }
})

const context = (files: StageFiles) =>
  makeStageContext(
    stage,
    {
      pipeline: "p",
      stageId: "seg",
      params: {},
      inputs: { volumes: ref("/in") },
      outputs: { report: "/out" },
      workDir: "/work",
      progress: () => Effect.void,
      log: () => Effect.void,
      provenance: () => Effect.void
    },
    files
  )

const failure = async <E>(effect: Effect.Effect<unknown, E>): Promise<E> => {
  const exit = await Effect.runPromiseExit(effect)
  assert.ok(Exit.isFailure(exit), "expected a failure")
  return exit.cause.reasons.find((r) => r._tag === "Fail")!.error as E
}

test("readIndex decodes an input's index.json with its kind's schema", async () => {
  const index = { kind: "VolumeSet", volumes: [], labelNames: { "0": "background", "1": "lung" } }
  const { access } = memoryFiles({ "/in/index.json": JSON.stringify(index) })
  assert.deepEqual(await Effect.runPromise(context(access).readIndex(ref("/in"))), index)
})

test("a missing, truncated or foreign index.json is an InputError naming the file and the problem", async () => {
  const problem = async (text: string | undefined) => {
    const { access } = memoryFiles(text === undefined ? {} : { "/in/index.json": text })
    const error = await failure(context(access).readIndex(ref("/in")))
    assert.ok(error instanceof InputError)
    assert.equal(error.file, "/in/index.json")
    return error.problem
  }
  assert.match(await problem(undefined), /^cannot read the VolumeSet index: no such file or directory/)
  assert.match(await problem('{"kind": "VolumeSet", "volu'), /not a valid VolumeSet index/)
  assert.match(
    await problem(JSON.stringify({ kind: "Encoder", model: "m" })),
    /not a valid VolumeSet index: Expected "VolumeSet"\s+at \["kind"\]/
  )
})

const report: ReportIndex = { kind: "Report", html: "report.html" }

test("writeIndex writes the output's index.json; what it wrote reads back through the kind's schema", async () => {
  const files = memoryFiles({})
  await Effect.runPromise(context(files.access).writeIndex("report", report))
  assert.deepEqual(JSON.parse(files.text("/out/index.json")), report)
})

test("writeIndex refuses a value its kind's schema rejects, as the stage's bug", async () => {
  const exit = await Effect.runPromiseExit(context(memoryFiles({}).access).writeIndex("report", { ...report, html: 3 as never }))
  assert.ok(Exit.isFailure(exit))
  assert.match(String(exit.cause), /stage probe wrote a Report index its schema rejects/)
})

test("a full disk while writing an output is an OutputError naming the file, with what to do", async () => {
  const error = await failure(context(memoryFiles({}, "/out/index.json").access).writeIndex("report", report))
  assert.ok(error instanceof OutputError)
  assert.equal(error.message.split("\n")[0], "cannot write /out/index.json: no space left on device")
  assert.match(error.message, /hint: the filesystem is full; nothing half-written was kept/)
})

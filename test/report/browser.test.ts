/**
 * Opens the report in Debian's headless Chromium (apt package `chromium`): the page must load with
 * no console messages, and in the rendered DOM the tables, SVG charts and decoded PNG slices must be
 * there. Skips with a message when Chromium is not installed.
 */
import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { promisify } from "node:util"
import { Effect } from "effect"
import { buildReport, reportStage } from "@tomoprior/stage-report"
import { runStageForTest, tempDir } from "@tomoprior/testkit"
import { demoLikeReport, reportFixtures } from "@tomoprior/stage-report/testing"

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p))
const skip = CHROMIUM ? false : "chromium is not installed (Debian: apt-get install -y chromium)"

interface Loaded {
  readonly dom: string
  readonly console: ReadonlyArray<string>
}

/** Loads a file headless with a fresh profile; console output comes back through Chromium's log. */
const load = async (file: string, windowWidth = 1280): Promise<Loaded> => {
  const { stdout, stderr } = await promisify(execFile)(
    CHROMIUM!,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${tempDir("tomoprior-chromium-")}`,
      "--enable-logging=stderr",
      "--v=0",
      "--virtual-time-budget=5000",
      `--window-size=${windowWidth},2000`,
      "--dump-dom",
      `file://${file}`
    ],
    { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }
  )
  return { dom: stdout, console: stderr.split("\n").filter((l) => l.includes(":CONSOLE")) }
}

/**
 * Appended to a copy of the report: writes what the browser actually rendered into the title,
 * including the charts that stick out of the page's text column (they would be cut off or force
 * sideways scrolling).
 */
const PROBE = `<script>addEventListener("load", () => {
  const body = document.body.getBoundingClientRect()
  const style = getComputedStyle(document.body)
  const column = body.right - parseFloat(style.paddingRight)
  const svgs = [...document.querySelectorAll("svg")]
  document.title = JSON.stringify({
    tables: document.querySelectorAll("table").length,
    svgs: svgs.filter((s) => s.getBoundingClientRect().width > 0).length,
    images: document.images.length,
    decoded: [...document.images].filter((i) => i.complete && i.naturalWidth > 0).length,
    column: Math.round(column - body.left - parseFloat(style.paddingLeft)),
    overflowing: svgs.filter((s) => s.getBoundingClientRect().right > column + 0.5).map((s) => Math.round(s.getBoundingClientRect().width))
  })
})</script>`

/** Loads a copy of `file` with PROBE appended and returns what it saw. */
const probe = async (file: string): Promise<Record<string, unknown>> => {
  const probed = join(tempDir(), "probe.html")
  writeFileSync(probed, readFileSync(file, "utf8").replace("</body>", `${PROBE}</body>`))
  const { dom, console } = await load(probed)
  assert.deepEqual(console, [])
  const title = /<title>([^<]*)<\/title>/.exec(dom)?.[1] ?? ""
  return JSON.parse(title.replaceAll("&quot;", '"')) as Record<string, unknown>
}

test("the console check catches errors (control page)", { skip }, async () => {
  const file = join(tempDir(), "bad.html")
  writeFileSync(file, `<!doctype html><html><body><script>missingFunction()</script></body></html>`)
  const { console } = await load(file)
  assert.equal(console.length, 1)
  assert.match(console[0], /missingFunction is not defined/)
})

test("the report loads in headless Chromium without console messages and shows its tables, charts and images", { skip }, async () => {
  const run = await Effect.runPromise(runStageForTest(reportStage, { inputs: reportFixtures() }))
  const file = join(run.outputs.report.dir, "report.html")
  const plain = await load(file)
  assert.deepEqual(plain.console, [])
  assert.match(plain.dom, /<td>sorting<\/td><td>50\.0 ± 14\.1/)

  const seen = await probe(file)
  assert.ok(Number(seen.tables) >= 4, `tables: ${seen.tables}`)
  assert.equal(seen.svgs, 8)
  assert.equal(seen.images, 1)
  assert.equal(seen.decoded, 1)
  assert.deepEqual(seen.overflowing, [])
})

test("with four methods, five label fractions and eight organs every chart still fits the 1100px text column", { skip }, async () => {
  const file = join(tempDir(), "report.html")
  const shape = { fractions: [0.005, 0.01, 0.1, 0.5, 1], organs: 8 }
  writeFileSync(file, await buildReport(demoLikeReport(["logistic", "sorting", "none", "simclr"], shape)))
  const seen = await probe(file)
  assert.equal(seen.column, 1100)
  assert.equal(seen.svgs, 7)
  assert.deepEqual(seen.overflowing, [])
})

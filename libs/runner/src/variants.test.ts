import { test } from "node:test"
import assert from "node:assert/strict"
import type { Diagnostic } from "@tomoprior/core"
import { expandVariants, parseSetFlag } from "./variants.ts"

const parse = (text: string) => {
  const diagnostics: Array<Diagnostic> = []
  return { flag: parseSetFlag(text, diagnostics), diagnostics }
}

test("--set values are a YAML flow sequence: commas make a sweep, brackets a list, quotes keep a comma", () => {
  assert.deepEqual(parse("sorting.margin=0.1,0.5").flag?.values, [0.1, 0.5])
  assert.deepEqual(parse("norm.window=[-900, 500]").flag?.values, [[-900, 500]])
  assert.deepEqual(parse("norm.window=[-900,500],[-1000,400]").flag?.values, [
    [-900, 500],
    [-1000, 400]
  ])
  assert.deepEqual(parse('report.title="a, b",c').flag?.values, ["a, b", "c"])
  assert.deepEqual(parse("report.title=a b").flag?.values, ["a b"])
  assert.deepEqual(parse("sorting.normalize=true").flag?.values, [true])
  assert.deepEqual(parse("sorting.augment.flip.p=0").flag, {
    flag: "--set sorting.augment.flip.p=0",
    target: "sorting",
    path: ["augment", "flip", "p"],
    values: [0]
  })
  assert.deepEqual(parse("params.size=96").flag?.target, "params")
})

test("malformed --set flags are diagnostics naming the flag", () => {
  const cases: Array<[string, RegExp]> = [
    ["sorting.margin", /^--set sorting\.margin: missing `=`$/],
    ["sorting=1", /`sorting` is not `<stage>\.<param>`/],
    ["sorting.margin=", /no value after `=`/],
    ["sorting.margin=[1,", /cannot read the value `\[1,`/],
    ["sorting.margin=!!js/function x", /cannot read the value .*tag/],
    ["sorting.margin=&a 1,*a", /aliases are not allowed/],
    ["9bad.x=1", /invalid stage id `9bad`/]
  ]
  for (const [text, message] of cases) {
    const { flag, diagnostics } = parse(text)
    assert.equal(flag, undefined, text)
    assert.equal(diagnostics.length, 1, text)
    assert.match(diagnostics[0].message, message)
    assert.ok(diagnostics[0].message.startsWith(`--set ${text.split("=")[0]}`), diagnostics[0].message)
  }
})

test("variants are every combination of the flags' values, named by what they set", () => {
  const diagnostics: Array<Diagnostic> = []
  const flags = ["sorting.margin=0.1,0.5", "params.size=64,96", 'report.title="a, b"'].map((t) => parseSetFlag(t, diagnostics)!)
  const variants = expandVariants(flags, diagnostics)
  assert.deepEqual(diagnostics, [])
  assert.deepEqual(
    variants.map((v) => v.name),
    [
      'sorting.margin=0.1 params.size=64 report.title="a, b"',
      'sorting.margin=0.1 params.size=96 report.title="a, b"',
      'sorting.margin=0.5 params.size=64 report.title="a, b"',
      'sorting.margin=0.5 params.size=96 report.title="a, b"'
    ]
  )
  assert.deepEqual(variants[1].set, { "sorting.margin": 0.1, "params.size": 96, "report.title": "a, b" })
  assert.equal(variants[1].overrides[0].origin, "--set sorting.margin=0.1,0.5 (value 0.1)")
  assert.equal(variants[1].overrides[2].origin, '--set report.title="a, b"')
})

test("setting a param twice, or a param and a key inside it, is refused", () => {
  const diagnostics: Array<Diagnostic> = []
  const flags = ["sorting.augment={}", "sorting.augment.flip.p=0"].map((t) => parseSetFlag(t, diagnostics)!)
  assert.deepEqual(expandVariants(flags, diagnostics), [])
  assert.match(
    diagnostics[0].message,
    /^--set sorting\.augment\.flip\.p=0: `sorting\.augment\.flip\.p` is also set by --set sorting\.augment=\{\}/
  )
})

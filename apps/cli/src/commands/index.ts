import type { Command } from "../command.ts"
import { bench } from "./bench.ts"
import { compare } from "./compare.ts"
import { dag } from "./dag.ts"
import { gc } from "./gc.ts"
import { job } from "./job.ts"
import { plan } from "./plan.ts"
import { report } from "./report.ts"
import { run } from "./run.ts"
import { stages } from "./stages.ts"
import { verify } from "./verify.ts"
import { phantom } from "./phantom.ts"
import { volumeInfoCommand } from "./volume-info.ts"
import { locate } from "./locate.ts"
import { embed } from "./embed.ts"
import { exportCommand } from "./export.ts"

/** Every `tomoprior` command. To add one: write commands/<name>.ts exporting a `Command`, list it here. */
export const commands: ReadonlyArray<Command> = [
  run,
  plan,
  verify,
  compare,
  report,
  dag,
  gc,
  stages,
  bench,
  phantom,
  volumeInfoCommand,
  locate,
  embed,
  exportCommand,
  job
]

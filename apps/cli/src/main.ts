import { commands } from "./commands/index.ts"
import { EXIT_INVALID, EXIT_OK, type Io, UsageError } from "./command.ts"

const overview = (): string =>
  `tomoprior — typed stages, YAML pipelines, a caching DAG runner

usage: tomoprior <command> [options]     (tomoprior <command> --help for details)

${commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join("\n")}
`

/** The CLI as a function: argv (without node and script) → exit code. */
export const main = async (argv: ReadonlyArray<string>, io: Io): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(overview())
    return name === undefined ? EXIT_INVALID : EXIT_OK
  }
  const command = commands.find((c) => c.name === name)
  if (!command) {
    io.stderr(`unknown command '${name}'\n\n${overview()}`)
    return EXIT_INVALID
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(command.usage + "\n")
    return EXIT_OK
  }
  try {
    return await command.run(rest, io)
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`usage error: ${e.message}\n\n${command.usage}\n`)
      return EXIT_INVALID
    }
    throw e
  }
}

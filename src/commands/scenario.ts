/**
 * `trunkgate scenario NAME [options]`: the scenario runner on the command
 * line (src/scenario/run.ts does the work). `npm run scenario -- NAME …` is
 * the same command; run that way, relative paths are the caller's, not the
 * package's (npm's INIT_CWD).
 */
import { type Command, Option } from 'commander';
import { runScenario, type ScenarioOptions, scenarioList } from '../scenario/run.js';
import { hostPort, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber, throwUsageErrors } from './usage.js';

interface Flags {
  rate: number;
  calls: number;
  holdMs?: number;
  target: string;
  http: string;
  trunk?: string;
  numbers?: string;
  transport: 'udp' | 'tcp';
  token?: string;
  user?: string;
  password?: string;
  json?: boolean;
  junit?: string;
  progress: number;
}

/** The folder the user ran the command in: npm runs scripts in the package's, and says where it was started. */
function userCwd(): string {
  const init = process.env['INIT_CWD'];
  return process.env['npm_lifecycle_event'] === 'scenario' && init !== undefined && init !== '' ? init : process.cwd();
}

export function addScenarioCommand(program: Command, setExitCode: (code: number) => void): void {
  const cmd = program
    .command('scenario')
    .description("run a SIPp scenario of the pack (sip-scenarios/) against a running gateway, and judge what happened against the trunk's limits")
    .argument('<name>', 'the scenario: one of the list below')
    .option('--rate <n>', 'calls (or requests) per second', positiveNumber, 1)
    .option('--calls <n>', 'how many to place', positiveInt, 10)
    .option('--hold-ms <ms>', 'how long an answered call stays up, or rings for cancel-ringing (default 0; 1000 for cancel-ringing)', nonNegativeInt)
    .option('--target <host:port>', 'the gateway SIP address', hostPort, '127.0.0.1:5060')
    .option('--http <host:port>', 'the gateway HTTP address, for the limits and the counters', hostPort, '127.0.0.1:8080')
    .option('--trunk <name>', 'the trunk to call (default: the first of GET /v1/trunks)')
    .option('--numbers <file>', 'a SIPp CSV of "called;caller;" lines (default: the scenario\'s file in sip-scenarios/numbers/)')
    .addOption(new Option('--transport <t>', 'SIP transport').choices(['udp', 'tcp']).default('udp'))
    .option('--token <token>', 'bearer token of the admin API (http.token), if it has one')
    .option('--user <name>', 'digest username, for digest-auth')
    .option('--password <password>', 'digest password, for digest-auth')
    .option('--json', 'print the result as one JSON object (progress goes to stderr)')
    .option('--junit <file>', 'also write the result as JUnit XML, one test case per check')
    .option('--progress <seconds>', 'seconds between progress lines; 0 for none', nonNegativeNumber, 5)
    .addHelpText(
      'after',
      [
        '',
        'Scenarios:',
        scenarioList(),
        '',
        'Exit code: 0 PASS (what happened is what the limits predict), 1 FAIL, 2 it could not run',
        '(a usage error, SIPp missing, the gateway not answering at --http).',
        '',
        'Example: trunkgate scenario cps-burst --rate 5 --calls 50 --junit scenario.xml',
      ].join('\n'),
    )
    .action(async (name: string, f: Flags) => {
      const options: ScenarioOptions = {
        rate: f.rate,
        calls: f.calls,
        holdMs: f.holdMs,
        target: f.target,
        http: f.http,
        trunk: f.trunk,
        numbers: f.numbers,
        transport: f.transport,
        token: f.token,
        user: f.user,
        password: f.password,
        json: f.json === true,
        junit: f.junit,
        progress: f.progress,
      };
      setExitCode(await runScenario(name, options, { out: process.stdout, err: process.stderr, cwd: userCwd() }));
    });
  throwUsageErrors(cmd);
}

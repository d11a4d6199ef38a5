// keys.env -> AWS Secrets Manager entries + the `secrets` block of an ECS task definition (dry run, JSON).
//
//   node dist/scripts/env-to-ecs.js [keys.env] [--prefix tollgate/prod] [--region eu-west-1]
//        [--account 123456789012] [--container validator] [--show-values]
//
// Prints one JSON document and changes nothing in AWS. Secret values are redacted unless
// --show-values is given (then pipe the output to a file, never to a log). The task definition
// part only ever uses `secrets` (`valueFrom` = a Secrets Manager ARN): no value goes into an
// `environment` entry or an image, as the production guide requires.
import { readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import { CONFIG_VARIABLES } from '../validator/config/schema';

export interface EcsPlanOptions {
  /** Secrets Manager name prefix; each secret is `<prefix>/<NAME>`. Default `tollgate`. */
  prefix: string;
  /** AWS region for the ARNs; placeholder `REGION` when unknown. */
  region: string;
  /** AWS account id for the ARNs; placeholder `ACCOUNT_ID` when unknown. */
  account: string;
  /** Container name in the task definition. Default `validator`. */
  container: string;
  /** Put the real values in `SecretString` (default: redacted). */
  showValues: boolean;
}

export interface SecretEntry {
  Name: string;
  SecretString: string;
  Description: string;
}

export interface EcsPlan {
  dryRun: true;
  /** Inputs of `aws secretsmanager create-secret` (or put-secret-value when it exists). */
  secretsManager: SecretEntry[];
  /** Merge into the task definition: only `secrets`, never `environment`. */
  taskDefinition: { containerDefinitions: Array<{ name: string; secrets: Array<{ name: string; valueFrom: string }> }> };
  /** Statement for the task *execution* role: ECS reads the secrets with it at task start. */
  executionRolePolicy: { Version: '2012-10-17'; Statement: Array<{ Effect: 'Allow'; Action: string[]; Resource: string[] }> };
  /** Secrets stored but not given to the validator (e.g. POSTGRES_PASSWORD for other services). */
  notForValidator: string[];
  warnings: string[];
}

export const DEFAULT_OPTIONS: EcsPlanOptions = {
  prefix: 'tollgate',
  region: 'REGION',
  account: 'ACCOUNT_ID',
  container: 'validator',
  showValues: false,
};

const NAME_RE = /^[A-Z][A-Z0-9_]*$/;
// Secrets Manager names: 1-512 of [A-Za-z0-9/_+=.@-].
const PREFIX_RE = /^[A-Za-z0-9/_+=.@-]{1,400}$/;

/** Build the plan from parsed keys.env entries. Pure: no I/O, no AWS call. */
export function buildEcsPlan(entries: Record<string, string>, options: Partial<EcsPlanOptions> = {}): EcsPlan {
  const opts = { ...DEFAULT_OPTIONS, ...options };
  const prefix = opts.prefix.replace(/^\/+|\/+$/g, '');
  if (!PREFIX_RE.test(prefix)) throw new Error(`--prefix must be 1-400 characters of A-Z a-z 0-9 / _ + = . @ -, got "${opts.prefix}"`);
  if (opts.account !== 'ACCOUNT_ID' && !/^\d{12}$/.test(opts.account)) throw new Error(`--account must be a 12-digit AWS account id, got "${opts.account}"`);
  if (opts.region !== 'REGION' && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(opts.region)) throw new Error(`--region must look like eu-west-1, got "${opts.region}"`);

  const known = new Set(CONFIG_VARIABLES.map((v) => v.name));
  const warnings: string[] = [];
  const secretsManager: SecretEntry[] = [];
  const secrets: Array<{ name: string; valueFrom: string }> = [];
  const notForValidator: string[] = [];
  const arns: string[] = [];

  for (const [name, value] of Object.entries(entries).sort(([a], [b]) => a.localeCompare(b))) {
    if (!NAME_RE.test(name)) {
      warnings.push(`${name}: not an environment variable name (A-Z, 0-9, _), skipped`);
      continue;
    }
    if (name.endsWith('_FILE')) {
      warnings.push(`${name}: a path to a secret file, not a secret; ECS injects the value itself, skipped`);
      continue;
    }
    if (value === '') {
      warnings.push(`${name}: empty in keys.env, skipped (Secrets Manager cannot hold an empty secret)`);
      continue;
    }
    const secretName = `${prefix}/${name}`;
    // The real ARN ends in a 6-character suffix Secrets Manager adds at creation; ECS needs the
    // full ARN, so replace these with create-secret's `ARN` output (or use the console's).
    const arn = `arn:aws:secretsmanager:${opts.region}:${opts.account}:secret:${secretName}`;
    secretsManager.push({
      Name: secretName,
      SecretString: opts.showValues ? value : `<redacted: ${value.length} characters; --show-values prints it>`,
      Description: `tollgate ${name}`,
    });
    arns.push(`${arn}-??????`);
    if (known.has(name)) secrets.push({ name, valueFrom: arn });
    else notForValidator.push(name);
  }
  if (notForValidator.length > 0) {
    warnings.push(`not validator settings, stored but left out of the "${opts.container}" container: ${notForValidator.join(', ')}`);
  }
  if (opts.region === 'REGION' || opts.account === 'ACCOUNT_ID') {
    warnings.push('ARNs hold REGION / ACCOUNT_ID placeholders: pass --region and --account');
  }
  warnings.push('replace each valueFrom with the full ARN (ending in -XXXXXX) that create-secret returns');

  return {
    dryRun: true,
    secretsManager,
    taskDefinition: { containerDefinitions: [{ name: opts.container, secrets }] },
    executionRolePolicy: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: arns }],
    },
    notForValidator,
    warnings,
  };
}

/** Parse argv (without `node script`). Throws with a usage message on a bad flag. */
export function parseArgs(argv: string[]): { file: string; options: EcsPlanOptions } {
  const options = { ...DEFAULT_OPTIONS };
  let file = 'keys.env';
  const takeValue = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--prefix':
        options.prefix = takeValue(i++, a);
        break;
      case '--region':
        options.region = takeValue(i++, a);
        break;
      case '--account':
        options.account = takeValue(i++, a);
        break;
      case '--container':
        options.container = takeValue(i++, a);
        break;
      case '--show-values':
        options.showValues = true;
        break;
      default:
        if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
        file = a;
    }
  }
  return { file, options };
}

export const USAGE = 'usage: env-to-ecs [keys.env] [--prefix tollgate] [--region REGION] [--account ACCOUNT_ID] [--container validator] [--show-values]';

/** CLI body: returns the exit code and what to print, so tests run it in-process. */
export function run(argv: string[], readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): { code: number; stdout: string; stderr: string } {
  try {
    const { file, options } = parseArgs(argv);
    const plan = buildEcsPlan(parse(readFile(file)), options);
    return { code: 0, stdout: `${JSON.stringify(plan, null, 2)}\n`, stderr: plan.warnings.map((w) => `env-to-ecs: ${w}\n`).join('') };
  } catch (e) {
    return { code: 2, stdout: '', stderr: `env-to-ecs: ${(e as Error).message}\n${USAGE}\n` };
  }
}

if (require.main === module) {
  const r = run(process.argv.slice(2));
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exitCode = r.code;
}

// scripts/env-to-ecs.ts: keys.env -> Secrets Manager entries + ECS `secrets`, values never leaked by default.
import { buildEcsPlan, parseArgs, run } from '../../scripts/env-to-ecs';

const KEYS_ENV = [
  '# comment',
  'DATABASE_URL="postgres://tollgate:s3cr3t-db@db.internal:5432/tollgate"',
  'SUPABASE_JWT_SECRET=super-secret-jwt-value-0123456789abcdef',
  'SUPABASE_ANON_KEY=anon-key-value',
  'POSTGRES_PASSWORD=pg-password-value',
  'GATEWAY_CLIENT_SECRET=',
  'AUTH_JWT_SECRET_FILE=/run/secrets/x',
].join('\n');
const VALUES = ['postgres://tollgate:s3cr3t-db@db.internal:5432/tollgate', 'super-secret-jwt-value-0123456789abcdef', 'anon-key-value', 'pg-password-value'];

const runOn = (argv: string[]) => run(['keys.env', ...argv], () => KEYS_ENV);

describe('env-to-ecs', () => {
  test('dry run prints names and ARNs, never a value', () => {
    const r = runOn(['--region', 'eu-west-1', '--account', '123456789012', '--prefix', 'tollgate/prod']);
    expect(r.code).toBe(0);
    for (const v of VALUES) {
      expect(r.stdout).not.toContain(v);
      expect(r.stderr).not.toContain(v);
    }
    const plan = JSON.parse(r.stdout);
    expect(plan.dryRun).toBe(true);
    expect(plan.secretsManager.map((s: { Name: string }) => s.Name)).toEqual([
      'tollgate/prod/DATABASE_URL',
      'tollgate/prod/POSTGRES_PASSWORD',
      'tollgate/prod/SUPABASE_ANON_KEY',
      'tollgate/prod/SUPABASE_JWT_SECRET',
    ]);
    expect(plan.secretsManager[0].SecretString).toMatch(/^<redacted: \d+ characters/);
  });

  test('task definition carries only `secrets` with Secrets Manager ARNs, never `environment`', () => {
    const plan = buildEcsPlan(
      { DATABASE_URL: 'postgres://x', SUPABASE_JWT_SECRET: 'y', POSTGRES_PASSWORD: 'z' },
      { region: 'us-east-1', account: '123456789012' },
    );
    const [container] = plan.taskDefinition.containerDefinitions;
    expect(container.name).toBe('validator');
    expect(Object.keys(container).sort()).toEqual(['name', 'secrets']);
    expect(JSON.stringify(plan)).not.toMatch(/"environment"/);
    expect(container.secrets).toEqual([
      { name: 'DATABASE_URL', valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tollgate/DATABASE_URL' },
      { name: 'SUPABASE_JWT_SECRET', valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tollgate/SUPABASE_JWT_SECRET' },
    ]);
    // Stored, but not handed to the validator: it is not one of its settings.
    expect(plan.notForValidator).toEqual(['POSTGRES_PASSWORD']);
    expect(plan.executionRolePolicy.Statement[0].Action).toEqual(['secretsmanager:GetSecretValue']);
    expect(plan.executionRolePolicy.Statement[0].Resource).toContain('arn:aws:secretsmanager:us-east-1:123456789012:secret:tollgate/DATABASE_URL-??????');
  });

  test('--show-values puts the real values in SecretString', () => {
    const plan = JSON.parse(runOn(['--show-values']).stdout);
    const byName = Object.fromEntries(plan.secretsManager.map((s: { Name: string; SecretString: string }) => [s.Name, s.SecretString]));
    expect(byName['tollgate/DATABASE_URL']).toBe(VALUES[0]);
  });

  test('empty values and *_FILE paths are skipped with a warning', () => {
    const r = runOn([]);
    const plan = JSON.parse(r.stdout);
    const names = plan.secretsManager.map((s: { Name: string }) => s.Name);
    expect(names).not.toContain('tollgate/GATEWAY_CLIENT_SECRET');
    expect(names).not.toContain('tollgate/AUTH_JWT_SECRET_FILE');
    expect(r.stderr).toMatch(/GATEWAY_CLIENT_SECRET: empty/);
    expect(r.stderr).toMatch(/AUTH_JWT_SECRET_FILE: a path/);
    expect(r.stderr).toMatch(/REGION \/ ACCOUNT_ID placeholders/);
  });

  test('bad flags and values exit 2 with usage', () => {
    expect(runOn(['--nope']).code).toBe(2);
    expect(runOn(['--region']).stderr).toMatch(/--region needs a value/);
    expect(runOn(['--account', '12']).stderr).toMatch(/12-digit/);
    expect(runOn(['--prefix', 'bad prefix!']).code).toBe(2);
    expect(parseArgs(['other.env']).file).toBe('other.env');
  });

  test('a missing file is an error, not an empty plan', () => {
    const r = run(['missing.env'], () => {
      throw new Error('ENOENT: no such file');
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ENOENT/);
  });
});

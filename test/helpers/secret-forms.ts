// Secrets as MCP servers and apps take them on their command lines, each with a value that
// must never leave the init. The forms an adversarial review tried (30 of a launcher's argv,
// two of the main child's), written so that each secret is one recognizable word.

export type SecretForm = { form: string; args: string[]; secret: string };

/** The arguments after a launcher's program and package, and the secret in them. */
export const LAUNCHER_SECRET_FORMS: readonly SecretForm[] = [
  { form: 'Authorization: Bearer, one argument', args: ['-H', 'Authorization: Bearer S3CRET01tok'], secret: 'S3CRET01' },
  { form: '-H "x-api-key: …"', args: ['-H', 'x-api-key: S3CRET02'], secret: 'S3CRET02' },
  { form: '--header=X-API-Key:…', args: ['--header=X-API-Key:S3CRET03'], secret: 'S3CRET03' },
  { form: 'JSON argument', args: ['{"apiKey":"S3CRET04"}'], secret: 'S3CRET04' },
  { form: 'JSON argument with a space', args: ['{"apiKey": "S3CRET05"}'], secret: 'S3CRET05' },
  { form: '--config={"token":…}', args: ['--config={"token":"S3CRET06"}'], secret: 'S3CRET06' },
  { form: '--headers={"Authorization":…}', args: ['--headers={"Authorization":"Bearer S3CRET07"}'], secret: 'S3CRET07' },
  { form: '--pass=', args: ['--pass=S3CRET08'], secret: 'S3CRET08' },
  { form: '-p secret', args: ['-p', 'S3CRET09'], secret: 'S3CRET09' },
  { form: '--jwt=', args: ['--jwt=S3CRET10'], secret: 'S3CRET10' },
  { form: 'Go DSN', args: ['user:S3CRET11@tcp(db:3306)/app'], secret: 'S3CRET11' },
  { form: 'a later word of a multi-word value', args: ['--description', 'first S3CRET12 third'], secret: 'S3CRET12' },
  { form: 'a value starting with -', args: ['--token', '-S3CRET13'], secret: 'S3CRET13' },
  { form: '?code= in a URL', args: ['https://example.invalid/cb?code=S3CRET14'], secret: 'S3CRET14' },
  { form: '--env NAME value', args: ['--env', 'API_TOKEN', 'S3CRET15'], secret: 'S3CRET15' },
  { form: 'Basic <base64>', args: ['-H', 'Authorization: Basic UzNDUkVUMTY6eA=='], secret: 'UzNDUkVUMTY6eA' },
  { form: '--api-key=', args: ['--api-key=S3CRET17'], secret: 'S3CRET17' },
  { form: '--token x', args: ['--token', 'S3CRET18'], secret: 'S3CRET18' },
  { form: 'URL password', args: ['postgres://app:S3CRET19@db/app'], secret: 'S3CRET19' },
  { form: 'NAME=value', args: ['API_KEY=S3CRET20'], secret: 'S3CRET20' },
  { form: 'an opaque word', args: ['S3CRET21x9f8e7d6c5b4a3f2e1d0c9b8'], secret: 'S3CRET21' },
  { form: '--client_secret=', args: ['--client_secret=S3CRET22'], secret: 'S3CRET22' },
  { form: '--aws-secret-access-key', args: ['--aws-secret-access-key', 'S3CRET23'], secret: 'S3CRET23' },
  { form: '--apiKey', args: ['--apiKey', 'S3CRET24'], secret: 'S3CRET24' },
  { form: '--db-password', args: ['--db-password', 'S3CRET25'], secret: 'S3CRET25' },
  { form: '--password value in one argument', args: ['--password S3CRET26'], secret: 'S3CRET26' },
  { form: 'a Stripe key', args: ['sk_live_S3CRET27'], secret: 'S3CRET27' },
  { form: 'access_token in a URL', args: ['--url=https://example.invalid/x?access_token=S3CRET28'], secret: 'S3CRET28' },
  { form: '-u user:password', args: ['-u', 'admin:S3CRET29'], secret: 'S3CRET29' },
  { form: 'a cookie', args: ['--cookie', 'session=S3CRET30'], secret: 'S3CRET30' },
];

/** The main child's: --token X as two elements, and an Authorization header. */
export const MAIN_CHILD_SECRET_FORMS: readonly SecretForm[] = [
  { form: '--token X, two elements', args: ['--token', 'S3CRETM1'], secret: 'S3CRETM1' },
  { form: 'Authorization: Bearer', args: ['-H', 'Authorization: Bearer S3CRETM2'], secret: 'S3CRETM2' },
];

// What of a command line the init publishes: its logs go to `docker logs` and log stores, its
// metrics to Prometheus, its status to whoever can reach the endpoint. MCP servers take their
// credentials on the command line (`--api-key=…`, `GITHUB_TOKEN=… npx …`, a database URL), so
// by default a command line shows the program, the package and the arguments with every value
// that may be a secret masked. Pure.

const MASK = '***';

// Option names that carry credentials.
const SECRET_NAME = /(key|token|secret|passw(or)?d|pwd|auth|credential|bearer|cookie|session|private|signature|sig)($|[^a-z])/i;
// An environment assignment: VAR=value.
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
// --name=value or -n=value.
const OPTION_WITH_VALUE = /^(--?[A-Za-z0-9][A-Za-z0-9_.-]*)=(.*)$/s;
// scheme://user:password@host, scheme://token@host.
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]+)@/i;
// Prefixes of well-known credentials, and long opaque words that look like one.
const KNOWN_SECRET = /^(sk|pk|rk)_(live|test)_|^gh[pousr]_|^github_pat_|^xox[abposr]-|^AKIA[0-9A-Z]{12}|^AIza|^glpat-|^eyJ[A-Za-z0-9_-]{10,}\./;
const OPAQUE = /^[A-Za-z0-9_\-+/=.]{24,}$/;

/** A command line (its words joined by spaces) as published: values that may be secrets masked, program and package kept. */
export function redactCommandLine(line: string): string {
  const words = line.split(' ');
  const out: string[] = [];
  let maskNext = false;
  for (const word of words) {
    if (maskNext && word !== '' && !word.startsWith('-')) {
      out.push(MASK);
      maskNext = false;
      continue;
    }
    maskNext = false;
    const option = OPTION_WITH_VALUE.exec(word);
    if (option) {
      out.push(SECRET_NAME.test(option[1]!) ? `${option[1]}=${MASK}` : `${option[1]}=${redactValue(option[2]!)}`);
      continue;
    }
    const assignment = ASSIGNMENT.exec(word);
    if (assignment) {
      out.push(`${assignment[1]}=${MASK}`);
      continue;
    }
    if (word.startsWith('-') && SECRET_NAME.test(word.replace(/^-+/, ''))) {
      out.push(word);
      maskNext = true;
      continue;
    }
    out.push(redactValue(word));
  }
  return out.join(' ');
}

/** One argument: a URL's credentials and query values that may be secrets, or a word that looks like a credential. */
function redactValue(word: string): string {
  if (KNOWN_SECRET.test(word)) return MASK;
  const url = URL_USERINFO.exec(word);
  let value = word;
  if (url) {
    const userinfo = url[2]!;
    const colon = userinfo.indexOf(':');
    value = `${url[1]}${colon === -1 ? MASK : `${userinfo.slice(0, colon)}:${MASK}`}@${word.slice(url[0].length)}`;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && value.includes('?')) {
    value = value.replace(/([?&])([^=&#]+)=([^&#]*)/g, (whole, sep: string, name: string) => (SECRET_NAME.test(name) ? `${sep}${name}=${MASK}` : whole));
  }
  if (value === word && looksOpaque(word)) return MASK;
  return value;
}

// A long word of letters and digits mixed, that is neither a path nor a package name.
function looksOpaque(word: string): boolean {
  return OPAQUE.test(word) && !word.startsWith('/') && !word.startsWith('@') && !word.includes('://') && /[0-9]/.test(word) && /[A-Za-z]/.test(word);
}

/** An argv as published: each word masked as in redactCommandLine. */
export function redactArgv(argv: readonly string[]): string[] {
  return argv.map((word) =>
    word
      .split(' ')
      .map((part) => redactCommandLine(part))
      .join(' '),
  );
}

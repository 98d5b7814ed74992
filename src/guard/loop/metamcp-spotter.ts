// Whether the app is MetaMCP, found by looking once at each of its processes, and the crash
// budget that follows from it.
import { readCwd } from '../../proc/read-proc.js';
import { type ProcInfo, refKey } from '../../proc/snapshot.js';
import type { Instance } from '../instances.js';
import { looksLikeMetaMcp } from '../metamcp.js';

export class MetaMcpSpotter {
  /** Once the app looks like MetaMCP, it does for good. */
  isMetaMcp = false;
  /** refKeys of the processes looked at. */
  private readonly checked = new Set<string>();

  constructor(
    private readonly procRoot: string | undefined,
    /** --crash-budget, if given. */
    private readonly budget: number | undefined,
  ) {}

  // MetaMCP's released version puts a server in ERROR at its first crash: unless told how many
  // it tolerates, the guard makes none once it sees MetaMCP.
  crashBudget(): number {
    return this.budget ?? (this.isMetaMcp ? 0 : Number.POSITIVE_INFINITY);
  }

  /** Looks at those of these processes not looked at yet; true at the scan where the app first looks like MetaMCP. */
  spot(procs: readonly (ProcInfo | undefined)[], instances: readonly Instance[]): boolean {
    if (this.isMetaMcp) return false;
    this.isMetaMcp = this.findMetaMcp(procs, instances);
    return this.isMetaMcp;
  }

  /** Forgets the processes looked at that are gone. */
  forgetGone(procs: ReadonlyMap<number, ProcInfo>): void {
    for (const ref of this.checked) if (procs.get(Number(ref.slice(0, ref.indexOf(':')))) === undefined) this.checked.delete(ref);
  }

  /** Looks once at each of the app's processes that is not an instance member for MetaMCP's backend. */
  private findMetaMcp(procs: readonly (ProcInfo | undefined)[], instances: readonly Instance[]): boolean {
    const members = new Set(instances.flatMap((instance) => instance.members.map((member) => member.pid)));
    for (const proc of procs) {
      if (!proc || members.has(proc.pid) || this.checked.has(refKey(proc))) continue;
      this.checked.add(refKey(proc));
      if (looksLikeMetaMcp(proc.argv, readCwd(proc.pid, this.procRoot))) return true;
    }
    return false;
  }
}

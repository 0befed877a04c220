// The host's user and group names, asked of NSS through getent, the way
// getpwuid_r and getgrgid_r answer the addon and Go's os/user.
import { spawnSync } from 'node:child_process';

const names = new Map<string, string>();

/** The name `db` ('passwd' or 'group') gives the id, '' when it gives none. */
export function hostName(db: 'passwd' | 'group', id: number): string {
  const key = `${db}:${id}`;
  let name = names.get(key);
  if (name === undefined) {
    const answer = spawnSync('getent', [db, String(id)], { encoding: 'utf8' });
    name = answer.status === 0 ? answer.stdout.split(':')[0] : '';
    names.set(key, name);
  }
  return name;
}

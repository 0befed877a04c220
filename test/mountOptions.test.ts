import { expect } from 'chai';

import { AufsMounter, type MountSyscalls } from '../src/aufsMounter';
import { AUFS_BASE_OPTIONS, MS_REMOUNT, planAufsMount, type MountCall } from '../src/mountOptions';
import { native } from '../src/native';
import { MsRemount } from '../src';

const PAGE = 4096;
const hexId = (n: number): string => n.toString(16).padStart(64, '0');

/** diff/ID paths under a root whose diff dir is exactly `diffDirLength` bytes. */
function branches(diffDirLength: number, parents: number): { rw: string; ro: string[] } {
  const diffDir = `/${'r'.repeat(diffDirLength - '/diff'.length - 1)}/diff`;
  expect(diffDir.length).to.equal(diffDirLength);
  return {
    rw: `${diffDir}/${hexId(0)}`,
    ro: Array.from({ length: parents }, (_, i) => `${diffDir}/${hexId(i + 1)}`),
  };
}

function suffixOf(dirperm1: boolean, label?: string): string {
  return `,${AUFS_BASE_OPTIONS}${dirperm1 ? ',dirperm1' : ''}${label ? `,context="${label}"` : ''}`;
}

/**
 * Checks a plan against the rules that pin it down: the branches come back in
 * order, every call fits a page with its NUL, and no call could have taken
 * the next branch (so the plan uses as few calls as fit).
 */
function checkPlan(calls: MountCall[], rw: string, ro: string[], dirperm1: boolean, label?: string): void {
  const suffix = suffixOf(dirperm1, label);
  const labelSuffix = label ? `,context="${label}"` : '';
  const limit = PAGE - 1;
  const [first, ...remounts] = calls;
  expect(first.flags).to.equal(0);
  expect(first.data.startsWith(`br:${rw}=rw`)).to.equal(true);
  expect(first.data.endsWith(suffix)).to.equal(true);
  const firstRo = first.data
    .slice(`br:${rw}=rw`.length, first.data.length - suffix.length)
    .split(':')
    .slice(1)
    .map((b) => {
      expect(b.endsWith('=ro+wh')).to.equal(true);
      return b.slice(0, -'=ro+wh'.length);
    });
  const seen = [...firstRo];
  let fullBefore = Buffer.byteLength(first.data);
  expect(fullBefore).to.be.at.most(limit);
  if (seen.length < ro.length) {
    expect(fullBefore + Buffer.byteLength(`:${ro[seen.length]}=ro+wh`)).to.be.above(limit);
  }
  for (const call of remounts) {
    expect(call.flags).to.equal(MS_REMOUNT);
    expect(call.data.endsWith(labelSuffix)).to.equal(true);
    const appended = call.data.slice(0, call.data.length - labelSuffix.length).split(',');
    for (const op of appended) {
      expect(op).to.match(/^append:.*=ro\+wh$/);
      seen.push(op.slice('append:'.length, -'=ro+wh'.length));
    }
    fullBefore = Buffer.byteLength(call.data);
    expect(fullBefore).to.be.at.most(limit);
    if (seen.length < ro.length) {
      expect(fullBefore + Buffer.byteLength(`,append:${ro[seen.length]}=ro+wh`)).to.be.above(limit);
    }
  }
  expect(seen).to.deep.equal(ro);
}

function recordingMounter(options: { dirperm1: boolean; failAt?: number }): {
  mounter: AufsMounter;
  calls: Array<[string, ...unknown[]]>;
} {
  const calls: Array<[string, ...unknown[]]> = [];
  let mounts = 0;
  const syscalls: MountSyscalls = {
    async mount(source, target, fstype, flags, data) {
      calls.push(['mount', source, target, fstype, flags, data]);
      if (mounts++ === options.failAt) {
        throw Object.assign(new Error(`EINVAL: invalid argument, mount '${target}'`), {
          code: 'EINVAL',
          syscall: 'mount',
          path: target,
        });
      }
    },
    async umount2(target, flags) {
      calls.push(['umount2', target, flags]);
    },
  };
  return { mounter: new AufsMounter({ dirperm1: options.dirperm1, syscalls, pageSize: PAGE }), calls };
}

describe('aufs mount options', () => {
  it('exports MS_REMOUNT as the kernel defines it', () => {
    expect(MsRemount).to.equal(32);
    expect(native.constants.MS_REMOUNT).to.equal(MsRemount);
  });

  it('mounts a single parent in one call with the exact option string', () => {
    const calls = planAufsMount('/r/diff/c', ['/r/diff/p'], { pageSize: PAGE, dirperm1: false });
    expect(calls).to.deep.equal([
      { flags: 0, data: 'br:/r/diff/c=rw:/r/diff/p=ro+wh,dio,xino=/dev/shm/aufs.xino,noplink' },
    ]);
  });

  it('adds dirperm1 and a quoted SELinux context when asked', () => {
    const label = 'system_u:object_r:container_file_t:s0:c1,c2';
    const calls = planAufsMount('/r/diff/c', ['/r/diff/p'], { pageSize: PAGE, dirperm1: true, label });
    expect(calls).to.deep.equal([
      {
        flags: 0,
        data: `br:/r/diff/c=rw:/r/diff/p=ro+wh,dio,xino=/dev/shm/aufs.xino,noplink,dirperm1,context="${label}"`,
      },
    ]);
  });

  for (const parents of [1, 40, 126, 127]) {
    for (const dirperm1 of [false, true]) {
      for (const label of [undefined, 'system_u:object_r:svirt_sandbox_file_t:s0:c5,c6']) {
        it(`packs ${parents} parent(s) into as few page-sized calls as fit (dirperm1=${dirperm1}, label=${label !== undefined})`, () => {
          const { rw, ro } = branches('/var/lib/docker/aufs/diff'.length, parents);
          const calls = planAufsMount(rw, ro, { pageSize: PAGE, dirperm1, label });
          checkPlan(calls, rw, ro, dirperm1, label);
          // With Docker's root and 64-hex ids a page takes 41 read-only branches.
          if (parents <= 40) expect(calls).to.have.length(1);
          else expect(calls.length).to.be.greaterThan(1);
        });
      }
    }
  }

  // Each read-only branch is ":<diff>/<64 hex>=ro+wh", d + 72 bytes for a diff
  // dir of d bytes; the writable one "br:<diff>/<64 hex>=rw" is d + 71.
  it('fills the page exactly when its end falls on a branch separator', () => {
    // (k + 1) * (d + 72) - 1 + suffix = 4095 with k = 28 read-only branches.
    const suffix = suffixOf(false).length;
    const d = (PAGE - 1 - suffix + 1) / 29 - 72;
    expect(Number.isInteger(d)).to.equal(true);
    const { rw, ro } = branches(d, 40);
    const calls = planAufsMount(rw, ro, { pageSize: PAGE, dirperm1: false });
    expect(Buffer.byteLength(calls[0].data)).to.equal(PAGE - 1);
    expect(calls[0].data.split('=ro+wh')).to.have.length(29);
    expect(calls[1].data.startsWith(`append:${ro[28]}=ro+wh,`)).to.equal(true);
    checkPlan(calls, rw, ro, false);
  });

  it('moves a branch to the remount when the page would end inside its "=ro+wh"', () => {
    // 32 * (d + 72) = 4064: the 31st read-only branch overruns by 4 bytes,
    // which puts the page end between "=r" and "o+wh".
    const suffix = suffixOf(false).length;
    const d = 127 - 72;
    const overrun = 32 * (d + 72) - 1 + suffix - (PAGE - 1);
    expect(overrun).to.be.within(1, 5);
    const { rw, ro } = branches(d, 40);
    const calls = planAufsMount(rw, ro, { pageSize: PAGE, dirperm1: false });
    expect(calls[0].data.split('=ro+wh')).to.have.length(31);
    expect(calls[1].data.startsWith(`append:${ro[30]}=ro+wh`)).to.equal(true);
    checkPlan(calls, rw, ro, false);
  });

  it('refuses a branch that cannot fit in a page instead of looping', () => {
    const huge = `/${'x'.repeat(PAGE)}`;
    expect(() => planAufsMount(huge, ['/p'], { pageSize: PAGE, dirperm1: false }))
      .to.throw(/does not fit/)
      .with.property('code', 'ERR_MOUNT_OPTIONS');
    expect(() => planAufsMount('/c', ['/p', huge], { pageSize: PAGE, dirperm1: false }))
      .to.throw(/does not fit/)
      .with.property('code', 'ERR_MOUNT_OPTIONS');
  });

  it('refuses paths and labels that would change the meaning of the options', () => {
    for (const bad of ['/r/a,b', '/r/a:b', '/r/a=b']) {
      expect(() => planAufsMount(bad, ['/p'], { pageSize: PAGE, dirperm1: false })).to.throw().with.property('code', 'ERR_MOUNT_OPTIONS');
    }
    expect(() => planAufsMount('/c', ['/p'], { pageSize: PAGE, dirperm1: false, label: 'a"b' })).to.throw().with.property('code', 'ERR_MOUNT_OPTIONS');
  });

  it('makes exactly the planned mount(2) calls', async () => {
    const { rw, ro } = branches('/var/lib/docker/aufs/diff'.length, 127);
    const { mounter, calls } = recordingMounter({ dirperm1: true });
    await mounter.mount({ target: '/var/lib/docker/aufs/mnt/x', upper: rw, lowers: ro, work: '/unused' });
    const plan = planAufsMount(rw, ro, { pageSize: PAGE, dirperm1: true });
    expect(calls).to.deep.equal(plan.map((c) => ['mount', 'none', '/var/lib/docker/aufs/mnt/x', 'aufs', c.flags, c.data]));
  });

  it('unmounts and reports the failing call with target and data when a remount fails', async () => {
    const { rw, ro } = branches('/var/lib/docker/aufs/diff'.length, 127);
    const { mounter, calls } = recordingMounter({ dirperm1: false, failAt: 2 });
    const target = '/var/lib/docker/aufs/mnt/x';
    const err = await mounter.mount({ target, upper: rw, lowers: ro, work: '/unused' }).then(
      () => expect.fail('mount should fail'),
      (e: Error & { code: string; data: string }) => e,
    );
    const plan = planAufsMount(rw, ro, { pageSize: PAGE, dirperm1: false });
    expect(err.code).to.equal('EINVAL');
    expect(err.data).to.equal(plan[2].data);
    expect(err.message).to.equal(`mount target=${target} data=${plan[2].data}: EINVAL: invalid argument, mount '${target}'`);
    expect(calls.slice(0, 3).map((c) => c[0])).to.deep.equal(['mount', 'mount', 'mount']);
    expect(calls[3]).to.deep.equal(['umount2', target, native.constants.UMOUNT_NOFOLLOW]);
    expect(calls).to.have.length(4);
  });

  it('does not unmount when the first mount already failed', async () => {
    const { mounter, calls } = recordingMounter({ dirperm1: false, failAt: 0 });
    await mounter.mount({ target: '/t', upper: '/c', lowers: ['/p'], work: '/w' }).then(
      () => expect.fail('mount should fail'),
      () => undefined,
    );
    expect(calls.map((c) => c[0])).to.deep.equal(['mount']);
  });
});

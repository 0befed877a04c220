// The command line: every subcommand's operands, options and help, parsed
// with node:util parseArgs. Global options may stand before or after the
// subcommand.
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { FALLBACK_MOUNT_PROGRAM } from './openDriver';

export const PROGRAM = 'aufs-graphdriver';
export const DEFAULT_ROOT = '/var/lib/aufs-graphdriver';

type OptionConfig = NonNullable<ParseArgsConfig['options']>[string];

interface OptionSpec {
  config: OptionConfig;
  /** What the help calls the option's value: `--root DIR`. */
  value?: string;
  help: string;
}

export type CommandName =
  | 'status'
  | 'ls'
  | 'create'
  | 'rm'
  | 'mount'
  | 'umount'
  | 'changes'
  | 'diff'
  | 'apply'
  | 'size'
  | 'cleanup'
  | 'migrate'
  | 'demo'
  | 'help';

/** Every command but help, which parseCommandLine() answers itself. */
export type RunnableCommand = Exclude<CommandName, 'help'>;

export interface CommandSpec {
  name: CommandName;
  /** Operands as the usage line shows them; `[X]` is optional. */
  operands: string;
  summary: string;
  /** The rest of the help, as printed. */
  details: string;
  options: Record<string, OptionSpec>;
}

/** A bad command line: reported with a pointer to the help, exit status 2. */
export class UsageError extends Error {
  readonly command: CommandName | undefined;

  constructor(message: string, command?: CommandName) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  root: { config: { type: 'string' }, value: 'DIR', help: `the layer root (default ${DEFAULT_ROOT})` },
  'storage-opt': {
    config: { type: 'string', short: 'o', multiple: true },
    value: 'KEY=VALUE',
    help: [
      'a driver option, as init() takes them;',
      'repeatable. aufs.mount_program=PATH mounts',
      'unions with a FUSE program (fuse-overlayfs)',
      'instead of kernel aufs. Without it, on a',
      `kernel without aufs, ${FALLBACK_MOUNT_PROGRAM}`,
      'is used when it is installed.',
    ].join('\n'),
  },
  help: { config: { type: 'boolean', short: 'h' }, help: 'show this help' },
};

const JSON_OPTION: OptionSpec = { config: { type: 'boolean' }, help: 'print JSON instead of a table' };

const ID_NOTE = 'IDs are full layer ids, as in ROOT/layers/ID.';

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'status',
    operands: '',
    summary: "the driver's status: root, backing filesystem, layer count",
    details: 'Prints what Docker\'s "docker info" showed for the aufs driver, one "Key: value" per line.',
    options: {},
  },
  {
    name: 'ls',
    operands: '',
    summary: 'list the layers with their parent and size',
    details: [
      'One row per layer, sorted by id: ID, PARENT (its nearest ancestor, "-" for',
      "a base layer), SIZE (bytes in the layer's own files, as `size` counts",
      'them; decimal units) and STATE ("incomplete" when its last apply did not',
      'finish: its files are partial, remove it). With --json: an array of',
      '{"id", "parent" (null for a base layer), "size" (bytes), "incomplete"}.',
    ].join('\n'),
    options: { json: JSON_OPTION },
  },
  {
    name: 'create',
    operands: 'ID [PARENT]',
    summary: 'create an empty layer, on PARENT when given',
    details: `The layer's ancestors are PARENT and PARENT's own. ${ID_NOTE}`,
    options: {},
  },
  {
    name: 'rm',
    operands: 'ID',
    summary: 'remove a layer',
    details: [
      'Unmounts the layer when it is mounted, then deletes it. Refuses an unknown',
      'layer, and a layer that other layers are built on (their unions would',
      'lose its files), unless --force is given.',
    ].join('\n'),
    options: {
      force: { config: { type: 'boolean', short: 'f' }, help: 'remove even a parent of other layers; an unknown ID is no error' },
    },
  },
  {
    name: 'mount',
    operands: 'ID',
    summary: "mount a layer's union and print its path",
    details: [
      'Prints the directory holding the union of the layer and its ancestors;',
      'a base layer is not mounted, its own directory is printed. The union',
      'stays mounted when this command exits, until `umount ID` (or `cleanup`,',
      'or `rm ID`). Mounts are not counted across commands: mounting twice and',
      'unmounting once leaves the layer unmounted.',
    ].join('\n'),
    options: {},
  },
  {
    name: 'umount',
    operands: 'ID',
    summary: "unmount a layer's union",
    details: [
      'Unmounts what `mount ID` mounted. A layer that is not mounted is no',
      'error. With a mount program, whiteouts written through the union are',
      'turned back into aufs form before the command exits.',
    ].join('\n'),
    options: {},
  },
  {
    name: 'changes',
    operands: 'ID',
    summary: 'list what a layer adds, changes and deletes',
    details: [
      'One line per changed path against the layer\'s ancestors, as "docker diff"',
      'prints them: "A /path" added, "C /path" changed, "D /path" deleted.',
      'On a terminal, stderr shows the time spent walking (the walk runs as one',
      'native call: no count of entries is known until it ends).',
    ].join('\n'),
    options: {},
  },
  {
    name: 'diff',
    operands: 'ID [PARENT]',
    summary: "write the layer's own files to stdout as a tar",
    details: [
      'An uncompressed tar of the layer in aufs form (whiteouts included), as',
      "Docker's aufs driver exported it: aufs-graphdriver diff ID > layer.tar.",
      'PARENT is accepted for compatibility only: the layer is its own diff.',
      'stdout must not be a terminal. On a terminal, stderr shows entries and',
      'bytes written so far and the rate.',
    ].join('\n'),
    options: {},
  },
  {
    name: 'apply',
    operands: 'ID [PARENT]',
    summary: 'extract a tar from stdin into a layer',
    details: [
      'Reads a layer tar (gzipped or not) from stdin into the existing layer ID,',
      'aufs whiteouts included: aufs-graphdriver apply ID < layer.tar. Prints',
      "the layer's size in bytes afterwards. stdin must not be a terminal, nor",
      'empty: zero bytes are no tar (a tar of end-of-archive blocks alone is an',
      'empty layer). On a terminal, stderr shows entries and bytes read so far',
      '(and, when stdin is a file, how much of it), and the rate.',
    ].join('\n'),
    options: {},
  },
  {
    name: 'size',
    operands: 'ID',
    summary: "print the bytes in a layer's own files",
    details: "Bytes of the layer's own non-directories, each inode once, as Docker's aufs driver counted them.",
    options: {},
  },
  {
    name: 'cleanup',
    operands: '',
    summary: 'unmount every union under the root',
    details: 'What a daemon does when it stops. Failures do not stop the other unmounts; all are reported.',
    options: {},
  },
  {
    name: 'migrate',
    operands: 'PATH',
    summary: 'adopt the images and containers of a Docker < 0.7 root',
    details: [
      'Moves PATH/graph/ID/layer and PATH/containers/ID/rw into layers, as Docker',
      '0.7 did on its first start into its root PATH/aufs (--root PATH/aufs), and',
      "makes each container's ID-init layer the way Docker's daemon did: mount",
      'points /proc, /sys, /dev/pts, /dev/shm, empty /.dockerinit, /.dockerenv,',
      '/etc/resolv.conf, /etc/hosts, /etc/hostname, /dev/console, and /etc/mtab',
      'linked to /proc/mounts. Prints the ids of the layers it added. Running',
      'it again finishes an interrupted migration or does nothing.',
    ].join('\n'),
    options: {},
  },
  {
    name: 'demo',
    operands: '',
    summary: 'a tour of the driver on a throwaway root under /tmp',
    details: 'Creates layers, mounts a union, writes and deletes through it, and removes it all again. Ignores --root.',
    options: {},
  },
  {
    name: 'help',
    operands: '[COMMAND]',
    summary: "this help, or a command's",
    details: '',
    options: {},
  },
];

export type Invocation =
  | { kind: 'help'; command: CommandSpec | undefined }
  | {
      kind: 'run';
      name: RunnableCommand;
      operands: string[];
      root: string;
      driverOptions: string[];
      json: boolean;
      force: boolean;
    };

export function parseCommandLine(argv: readonly string[]): Invocation {
  // Loosely first, knowing every option any command has, to find the
  // command; then strictly, with that command's options.
  const anyCommandOptions = Object.fromEntries(COMMANDS.flatMap((c) => Object.entries(c.options)));
  const everything = parse(argv, { ...GLOBAL_OPTIONS, ...anyCommandOptions }, undefined, false);
  const [name, ...operands] = everything.positionals;
  if (name === undefined) {
    if (everything.values.help === true) return { kind: 'help', command: undefined };
    parse(argv, GLOBAL_OPTIONS, undefined, true);
    throw new UsageError('no command given');
  }
  const command = findCommand(name);
  const { values } = parse(argv, { ...GLOBAL_OPTIONS, ...command.options }, command.name, true);
  if (values.help === true) return { kind: 'help', command };
  checkOperandCount(command, operands);
  if (command.name === 'help') return { kind: 'help', command: operands[0] === undefined ? undefined : findCommand(operands[0]) };
  return {
    kind: 'run',
    name: command.name,
    operands,
    root: typeof values.root === 'string' ? values.root : DEFAULT_ROOT,
    driverOptions: (Array.isArray(values['storage-opt']) ? values['storage-opt'] : []).map(String),
    json: values.json === true,
    force: values.force === true,
  };
}

function parse(argv: readonly string[], specs: Record<string, OptionSpec>, command: CommandName | undefined, strict: boolean) {
  const options = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, spec.config]));
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict });
  } catch (err) {
    // parseArgs's own errors (ERR_PARSE_ARGS_*) are about the command line.
    if (err instanceof TypeError && String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')) {
      throw new UsageError(err.message, command);
    }
    throw err;
  }
}

function findCommand(name: string): CommandSpec {
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  return command;
}

function checkOperandCount(command: CommandSpec, operands: readonly string[]): void {
  const words = command.operands.split(' ').filter((word) => word !== '');
  const required = words.filter((word) => !word.startsWith('[')).length;
  if (operands.length >= required && operands.length <= words.length) return;
  const wanted = words.length === 0 ? 'takes no operands' : `takes ${command.operands}`;
  const got = operands.length === 0 ? 'none' : operands.map((operand) => JSON.stringify(operand)).join(' ');
  throw new UsageError(`${command.name} ${wanted}, got ${got}`, command.name);
}

/** The help of one command, or of the program when `command` is undefined. */
export function helpText(command: CommandSpec | undefined): string {
  const globalUsage = `${PROGRAM} [--root DIR] [-o KEY=VALUE]...`;
  if (command === undefined) {
    const width = Math.max(...COMMANDS.map((c) => usageOf(c).length));
    return [
      `Usage: ${globalUsage} COMMAND [OPERANDS]`,
      '',
      "Looks after a layer root of Docker's AUFS graph driver, a Docker-era",
      '/var/lib/docker/aufs included.',
      '',
      'Commands:',
      ...COMMANDS.map((c) => `  ${usageOf(c).padEnd(width)}   ${c.summary}`),
      '',
      optionsText('Global options (before or after the command):', GLOBAL_OPTIONS),
      '',
      `Run '${PROGRAM} COMMAND --help' for a command's help.`,
      'Exit status: 0 done, 1 failed (one line on stderr), 2 bad command line, 130 interrupted.',
      '',
    ].join('\n');
  }
  const optionUsage = Object.keys(command.options).map((name) => ` [--${name}]`).join('');
  return [
    `Usage: ${globalUsage} ${usageOf(command)}${optionUsage}`,
    '',
    `${capitalise(command.summary)}.`,
    ...(command.details === '' ? [] : ['', command.details]),
    '',
    ...(Object.keys(command.options).length === 0 ? [] : [optionsText('Options:', command.options), '']),
    optionsText('Global options:', GLOBAL_OPTIONS),
    '',
  ].join('\n');
}

function usageOf(command: CommandSpec): string {
  return command.operands === '' ? command.name : `${command.name} ${command.operands}`;
}

function optionsText(title: string, specs: Record<string, OptionSpec>): string {
  const flags = Object.entries(specs).map(([name, spec]) => {
    const short = spec.config.short === undefined ? '    ' : `-${spec.config.short}, `;
    return `${short}--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`;
  });
  const width = Math.max(...flags.map((flag) => flag.length));
  const lines = Object.values(specs).flatMap((spec, i) =>
    spec.help.split('\n').map((line, j) => `  ${(j === 0 ? flags[i] : '').padEnd(width)}   ${line}`),
  );
  return [title, ...lines].join('\n');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

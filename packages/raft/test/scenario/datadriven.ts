/**
 * The data-driven scenario format (after etcd-io/raft's datadriven tests). A file is a list of
 * blocks; each block is
 *
 *   # comment lines and blank lines, kept verbatim
 *   command args
 *   ----
 *   exact expected output (no blank lines)
 *
 * and blocks are separated by a blank line. Lines that start with `#` before a command are
 * comments. The runner executes every command and compares the rendered transcript with the file;
 * with UPDATE_GOLDEN=1 it writes the transcript back instead.
 */

/** SEPARATOR is the line between a command and its expected output. */
export const SEPARATOR = '----';

/** ScenarioBlock is one command of a scenario file with the comments before it and its expected output. */
export interface ScenarioBlock {
  /** preamble holds the comment and blank lines before the command, verbatim. */
  readonly preamble: readonly string[];
  readonly command: string;
  /** line is the 1-based line number of the command, for error messages. */
  readonly line: number;
  readonly expected: string;
}

/** ScenarioFile is a parsed scenario file: its blocks and whatever comments trail the last one. */
export interface ScenarioFile {
  readonly blocks: readonly ScenarioBlock[];
  readonly trailer: readonly string[];
}

const isPreambleLine = (line: string): boolean => line.trim() === '' || line.startsWith('#');

/** parseScenario splits a scenario file into blocks; it throws, naming the line, on a malformed file. */
export function parseScenario(text: string, fileName: string): ScenarioFile {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const blocks: ScenarioBlock[] = [];
  let preamble: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (isPreambleLine(line)) {
      preamble.push(line);
      i++;
      continue;
    }
    const commandLine = i + 1;
    if (lines[i + 1] !== SEPARATOR) {
      throw new Error(`${fileName}:${commandLine}: expected "${SEPARATOR}" after the command "${line}"`);
    }
    i += 2;
    const output: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') {
      output.push(lines[i]!);
      i++;
    }
    // The blank line that ends the output belongs to no block.
    if (i < lines.length) i++;
    blocks.push({ preamble, command: line, line: commandLine, expected: output.join('\n') });
    preamble = [];
  }
  return { blocks, trailer: preamble };
}

/** renderScenario writes a scenario file back with `outputs[i]` as the output of block i. */
export function renderScenario(file: ScenarioFile, outputs: readonly string[]): string {
  const out: string[] = [];
  file.blocks.forEach((block, i) => {
    if (i > 0) out.push('');
    out.push(...block.preamble, block.command, SEPARATOR, outputs[i] ?? '');
  });
  if (file.trailer.length > 0) out.push('', ...file.trailer);
  return `${out.join('\n')}\n`;
}

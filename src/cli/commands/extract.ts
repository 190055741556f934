/** `at-pki extract FILE -o DIR`: write each item of a PKI bin to its own file. */
import type { Command } from 'commander';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import type { CliIo } from '../io.js';
import { addExamples, addJsonOption, printResult, printWarnings, type JsonOption } from '../output.js';

interface ExtractOptions extends JsonOption {
  /** Folder to write to; created if missing. */
  output: string;
  /** Overwrite existing files. @default false */
  force?: boolean;
}

export function registerExtract(program: Command, io: CliIo): void {
  const extract = program
    .command('extract')
    .summary('write each item of a PKI bin to its own file')
    .description('Write each item of a PKI bin to its own file.')
    .argument('<file>', 'the bin, or a partition read-back (bin followed by 0xFF)')
    .requiredOption('-o, --output <dir>', 'folder to write the files to')
    .option('-f, --force', 'overwrite existing files');
  addJsonOption(extract);
  extract.addHelpText(
    'after',
    `
Files are written to DIR (created if missing), byte for byte as stored, named <type>_<index>.pem
when the content is PEM text and <type>_<index>.der otherwise: cert_0.pem, key_0.der, ca_1.pem...
<index> counts within the type (it is the ID in a well-formed bin).
Key files are created readable by the owner only. Existing files are not overwritten unless
--force: if any target exists, nothing is written.`,
  );
  addExamples(extract, ['at-pki extract client_cert.bin -o out/', 'at-pki extract --force readback.bin -o certs/']);
  extract.action(async (file: string, options: ExtractOptions) => {
    const [{ isPem }, { perTypeIndexes }, { loadPkiBinFile }, { writeFileAtomic }] = await Promise.all([
      import('../../pki/credential.js'),
      import('../../pki/types.js'),
      import('../../flash/bin-file.js'),
      import('../write-file-atomic.js'),
    ]);
    const { bin } = await loadPkiBinFile(file);
    printWarnings(io, bin.warnings);
    const indexes = perTypeIndexes(bin.items);
    const files = bin.items.map((item, position) => {
      const encoding = isPem(item.content) ? 'pem' : 'der';
      return {
        path: join(options.output, `${item.type}_${indexes[position]}.${encoding}`),
        type: item.type,
        id: item.id,
        offset: item.offset,
        length: item.content.length,
        encoding,
        content: item.content,
      };
    });
    if (!options.force) {
      const existing = (await Promise.all(files.map(async ({ path }) => ((await exists(path)) ? path : undefined)))).filter((path) => path !== undefined);
      if (existing.length > 0) {
        throw new InputError(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''} (use --force to overwrite)`, {
          details: { existing },
        });
      }
    }
    await mkdir(options.output, { recursive: true }).catch((error: unknown) => {
      throw new InputError(`cannot create folder ${options.output}: ${(error as { code?: string }).code ?? String(error)}`, { cause: error });
    });
    for (const { path, type, content } of files) await writeFileAtomic(path, content, { mode: type === 'key' ? 0o600 : 0o644 });

    const written = files.map(({ content: _content, ...rest }) => rest);
    const human = [
      `extracted ${files.length} item${files.length === 1 ? '' : 's'} from ${file} to ${options.output}`,
      ...written.map((entry) => `  ${entry.path}  ${entry.length} bytes`),
    ].join('\n');
    printResult(io, options.json, human, { file, dir: options.output, files: written });
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

import { Command } from 'commander';
import { Shortener } from './shortener.js';
import { JsonFileStore, MemoryStore } from './store.js';
import type { LinkStore } from './types.js';

/** Build the store named by `--store`: `memory` or a JSON file path. */
export function openStore(spec: string): LinkStore {
  return spec === 'memory' ? new MemoryStore() : new JsonFileStore(spec);
}

/** Run the command line; resolves to the process exit status. */
export async function main(argv: string[]): Promise<number> {
  let status = 0;
  const program = new Command('shortlinks').option('--store <file>', 'link store', 'links.json');
  const shortener = () => new Shortener(openStore(program.opts().store));

  program
    .command('add <url>')
    .option('--slug <slug>', 'custom slug')
    .action(async (url: string, opts: { slug?: string }) => {
      const link = await shortener().shorten({ url, slug: opts.slug });
      console.log(`${link.slug} -> ${link.url}`);
    });
  program.command('open <slug>').action(async (slug: string) => {
    const url = await shortener().resolve(slug);
    if (url === undefined) status = 1;
    console.log(url ?? `no such link: ${slug}`);
  });
  program.command('list').action(async () => {
    for (const link of await openStore(program.opts().store).list()) {
      console.log(`${link.slug}\t${link.hits}\t${link.url}`);
    }
  });

  await program.parseAsync(argv);
  return status;
}

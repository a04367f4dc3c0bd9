/**
 * The images a folder stands for: its regular files named .png, .jpg or .jpeg, and links to such
 * files, in name order. Whatever else it holds is passed over and said, once, grouped by why: a
 * folder of 300 digits that predicts 296 must not leave the user guessing at the other four.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { extname, join } from 'node:path';

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** Names shown of each reason; the rest are counted. */
const NAMES_SHOWN = 3;

export interface FolderImages {
  /** Paths of the images, in name order. */
  files: string[];
  /** What was passed over and why, in one phrase ("passed over 2 subfolders (a, b)"); null when nothing was. */
  skipped: string | null;
}

/** Why an entry is not an image to read: a noun phrase and its plural. */
type Reason = readonly [string, string];

const SUBFOLDER: Reason = ['subfolder', 'subfolders'];
const LINK_TO_NOTHING: Reason = ['link to nothing', 'links to nothing'];
const LINK_LOOP: Reason = ['link in a loop', 'links in a loop'];
const UNREADABLE_LINK: Reason = ['unreadable link', 'unreadable links'];
const FIFO: Reason = ['FIFO', 'FIFOs'];
const SOCKET: Reason = ['socket', 'sockets'];
const DEVICE: Reason = ['device', 'devices'];
const NOT_IMAGE_NAME: Reason = ['file not named .png, .jpg or .jpeg', 'files not named .png, .jpg or .jpeg'];

export function folderImages(folder: string): FolderImages {
  const files: string[] = [];
  const skipped = new Map<Reason, string[]>();
  for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const reason = whyNotImage(folder, entry);
    if (!reason) files.push(join(folder, entry.name));
    else if (skipped.has(reason)) skipped.get(reason)!.push(entry.name);
    else skipped.set(reason, [entry.name]);
  }
  return { files, skipped: skipped.size ? `passed over ${[...skipped].map(([reason, names]) => phrase(reason, names)).join(', ')}` : null };
}

function whyNotImage(folder: string, entry: Dirent): Reason | null {
  let kind: Dirent | ReturnType<typeof statSync> = entry;
  // A link is what it points to: a linked image is read, a linked folder is a subfolder.
  if (entry.isSymbolicLink()) {
    try {
      kind = statSync(join(folder, entry.name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? LINK_TO_NOTHING : code === 'ELOOP' ? LINK_LOOP : UNREADABLE_LINK;
    }
  }
  if (kind.isDirectory()) return SUBFOLDER;
  // Reading a FIFO waits for a writer that may never come; a socket or a device is no image.
  if (kind.isFIFO()) return FIFO;
  if (kind.isSocket()) return SOCKET;
  if (!kind.isFile()) return DEVICE;
  return IMAGE_EXTENSIONS.includes(extname(entry.name).toLowerCase()) ? null : NOT_IMAGE_NAME;
}

/** "2 subfolders (a, b)", "5 FIFOs (p1, p2, p3 and 2 more)". */
function phrase([one, many]: Reason, names: string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).join(', ');
  const more = names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : '';
  return `${names.length} ${names.length === 1 ? one : many} (${shown}${more})`;
}

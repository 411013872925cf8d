// What the viewer shows: a series as Cornerstone image IDs (WADO-RS frames), presets, keys.

import { wadors } from '@cornerstonejs/dicom-image-loader';
import { DICOMWEB, type Api } from '../api';

export interface Preset {
  name: string;
  /** window center and width; null: the image's own */
  voi: { center: number; width: number } | null;
}

const CT_PRESETS: Preset[] = [
  { name: 'Image', voi: null },
  { name: 'Lung', voi: { center: -600, width: 1500 } },
  { name: 'Mediastinum', voi: { center: 50, width: 350 } },
  { name: 'Bone', voi: { center: 400, width: 2000 } },
];
const XR_PRESETS: Preset[] = [{ name: 'Image', voi: null }];

export function presetsFor(modality: string): Preset[] {
  return modality === 'CT' ? CT_PRESETS : XR_PRESETS;
}

type DicomJson = Record<string, { vr: string; Value?: unknown[] } | undefined>;

function number(instance: DicomJson, tag: string, at = 0): number | null {
  const value = instance[tag]?.Value?.[at];
  return typeof value === 'number' ? value : null;
}

function text(instance: DicomJson, tag: string): string | null {
  const value = instance[tag]?.Value?.[0];
  return typeof value === 'string' ? value : null;
}

/** The series' image IDs in viewing order (by position along the normal, else number). */
export async function seriesImageIds(api: Api, study: string, series: string): Promise<string[]> {
  const base = `${DICOMWEB}/studies/${study}/series/${series}`;
  const instances = await api.json<DicomJson[]>(`${base}/metadata`, {
    headers: { Accept: 'application/dicom+json' },
  });
  const withPixels = instances.filter((i) => number(i, '00280010') !== null);
  const position = (i: DicomJson) => number(i, '00200032', 2) ?? number(i, '00200013') ?? 0;
  withPixels.sort((a, b) => position(a) - position(b));
  const ids: string[] = [];
  for (const instance of withPixels) {
    const sop = text(instance, '00080018');
    if (sop === null) continue;
    const frames = number(instance, '00280008') ?? 1;
    for (let frame = 1; frame <= frames; frame += 1) {
      const id = `wadors:${window.location.origin}${base}/instances/${sop}/frames/${frame}`;
      wadors.metaDataManager.add(id, instance as never);
      ids.push(id);
    }
  }
  return ids;
}

export function sopOf(imageId: string): string | null {
  return /\/instances\/([0-9.]+)\/frames\//.exec(imageId)?.[1] ?? null;
}

export const KEYS_HELP =
  'Keys: Up/Down or Page Up/Down change slice; + and - zoom; Shift+arrows pan; ' +
  '[ and ] narrow or widen the window, comma and period lower or raise the level; R resets.';

// Cornerstone3D, started once per page: WebGL when the browser has it, else its CPU renderer;
// the DICOM image loader reads our WADO-RS with the user's bearer token.

import {
  init as initCore,
  isCornerstoneInitialized,
  setUseCPURendering,
} from '@cornerstonejs/core';
import { init as initLoader } from '@cornerstonejs/dicom-image-loader';
import {
  addTool,
  init as initTools,
  PanTool,
  StackScrollTool,
  WindowLevelTool,
  ZoomTool,
} from '@cornerstonejs/tools';

let started: Promise<void> | null = null;
const bearer = { token: '' };

function hasWebGL2(): boolean {
  try {
    return document.createElement('canvas').getContext('webgl2') !== null;
  } catch {
    return false;
  }
}

/** Starts Cornerstone (once) and makes ``token`` the one its image requests carry. */
export function startCornerstone(token: string): Promise<void> {
  bearer.token = token;
  started ??= new Promise<void>((resolve) => {
    if (!isCornerstoneInitialized()) {
      initCore();
      if (!hasWebGL2()) setUseCPURendering(true);
    }
    initLoader({
      maxWebWorkers: 1,
      beforeSend: () => ({ Authorization: `Bearer ${bearer.token}` }),
    });
    initTools();
    for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool]) addTool(tool);
    resolve();
  });
  return started;
}

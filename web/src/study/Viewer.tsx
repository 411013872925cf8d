import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { Enums as CoreEnums, RenderingEngine, type Types } from '@cornerstonejs/core';
import {
  Enums as ToolEnums,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
} from '@cornerstonejs/tools';
import { WORKLIST, type Api } from '../api';
import type { SeriesView } from '../types';
import { startCornerstone } from './cornerstone';
import { KEYS_HELP, presetsFor, seriesImageIds, sopOf, type Preset } from './viewer-model';

export interface Heatmap {
  sopUid: string;
  label: string;
}

interface Props {
  api: Api;
  studyUid: string;
  series: SeriesView;
  heatmap: Heatmap | null;
  showHeatmap: boolean;
  opacity: number;
}

type Stack = Types.IStackViewport;

export function Viewer({ api, studyUid, series, heatmap, showHeatmap, opacity }: Props) {
  const element = useRef<HTMLDivElement>(null);
  const overlay = useRef<HTMLCanvasElement>(null);
  const viewportRef = useRef<Stack | null>(null);
  const layer = useRef<ImageBitmap | null>(null);
  const draw = useRef<() => void>(() => undefined);
  const [status, setStatus] = useState('Loading images…');
  const [slice, setSlice] = useState({ index: 0, count: 0 });
  const [drawn, setDrawn] = useState(false);
  const id = useId().replace(/[^A-Za-z0-9]/g, '');
  const seriesUid = series.series_uid;
  const modality = series.modality;
  const presets = presetsFor(modality);

  // the viewport: one rendering engine and tool group per viewer
  useEffect(() => {
    const target = element.current;
    if (target === null) return;
    let live = true;
    const engineId = `engine-${id}`;
    const groupId = `tools-${id}`;
    let engine: RenderingEngine | null = null;
    void (async () => {
      try {
        await startCornerstone(api.token());
        const ids = await seriesImageIds(api, studyUid, seriesUid);
        if (!live) return;
        if (ids.length === 0) {
          setStatus('This series has no images.');
          return;
        }
        engine = new RenderingEngine(engineId);
        engine.enableElement({
          viewportId: 'main',
          type: CoreEnums.ViewportType.STACK,
          element: target,
          defaultOptions: { background: [0, 0, 0] },
        });
        const viewport = engine.getViewport<Stack>('main');
        viewportRef.current = viewport;
        const group = ToolGroupManager.createToolGroup(groupId);
        if (group !== undefined) {
          const { MouseBindings } = ToolEnums;
          const bound: [{ toolName: unknown }, number][] = [
            [WindowLevelTool, MouseBindings.Primary],
            [PanTool, MouseBindings.Auxiliary],
            [ZoomTool, MouseBindings.Secondary],
            [StackScrollTool, MouseBindings.Wheel],
          ];
          for (const [tool, mouseButton] of bound) {
            group.addTool(String(tool.toolName));
            group.setToolActive(String(tool.toolName), { bindings: [{ mouseButton }] });
          }
          group.addViewport('main', engineId);
        }
        const middle = modality === 'CT' ? Math.floor(ids.length / 2) : 0;
        await viewport.setStack(ids, middle);
        viewport.render();
        if (!live) return;
        setSlice({ index: middle, count: ids.length });
        setStatus('');
      } catch (failure) {
        if (live) setStatus(`The images cannot be shown: ${String(failure)}`);
      }
    })();
    const rendered = () => {
      const viewport = viewportRef.current;
      if (viewport === null) return;
      setSlice({ index: viewport.getCurrentImageIdIndex(), count: viewport.getImageIds().length });
      setDrawn(true);
      draw.current();
    };
    target.addEventListener(CoreEnums.Events.IMAGE_RENDERED, rendered);
    return () => {
      live = false;
      target.removeEventListener(CoreEnums.Events.IMAGE_RENDERED, rendered);
      viewportRef.current = null;
      ToolGroupManager.destroyToolGroup(groupId);
      engine?.destroy();
    };
  }, [api, studyUid, seriesUid, modality, id]);

  // the heatmap layer, fetched once per finding
  useEffect(() => {
    let live = true;
    layer.current = null;
    if (heatmap === null) return;
    const path =
      `${WORKLIST}/studies/${studyUid}/series/${seriesUid}/instances/${heatmap.sopUid}` +
      `/heatmap?label=${encodeURIComponent(heatmap.label)}&layer=true`;
    void (async () => {
      try {
        const bitmap = await createImageBitmap(await api.blob(path));
        if (!live) return;
        layer.current = bitmap;
        draw.current();
      } catch (failure) {
        if (live) setStatus(`The heatmap cannot be shown: ${String(failure)}`);
      }
    })();
    return () => {
      live = false;
    };
  }, [api, studyUid, seriesUid, heatmap]);

  // the overlay follows the image: drawn over its corners wherever zoom and pan put them
  useEffect(() => {
    draw.current = () => {
      const canvas = overlay.current;
      const viewport = viewportRef.current;
      if (canvas === null) return;
      const ratio = window.devicePixelRatio;
      canvas.width = Math.round(canvas.clientWidth * ratio);
      canvas.height = Math.round(canvas.clientHeight * ratio);
      const context = canvas.getContext('2d');
      if (context === null) return;
      context.setTransform(1, 0, 0, 1, 0, 0);
      context.clearRect(0, 0, canvas.width, canvas.height);
      const bitmap = layer.current;
      if (!showHeatmap || bitmap === null || viewport === null || heatmap === null) return;
      if (sopOf(viewport.getCurrentImageId()) !== heatmap.sopUid) return;
      const data = viewport.getImageData() as Types.IImageData | Types.CPUIImageData | undefined;
      const image = data?.imageData;
      if (data === undefined || image?.indexToWorld === undefined) return;
      const [columns, rows] = data.dimensions;
      const toWorld = image.indexToWorld.bind(image);
      const corner = (x: number, y: number) => {
        const world = toWorld([x, y, 0]) as Types.Point3;
        return viewport.worldToCanvas([world[0], world[1], world[2]]);
      };
      const [x0, y0] = corner(-0.5, -0.5);
      const [x1, y1] = corner(columns - 0.5, -0.5);
      const [x2, y2] = corner(-0.5, rows - 0.5);
      const w = bitmap.width;
      const h = bitmap.height;
      context.setTransform(
        (ratio * (x1 - x0)) / w,
        (ratio * (y1 - y0)) / w,
        (ratio * (x2 - x0)) / h,
        (ratio * (y2 - y0)) / h,
        ratio * x0,
        ratio * y0,
      );
      context.globalAlpha = opacity;
      context.drawImage(bitmap, 0, 0);
    };
    draw.current();
  }, [showHeatmap, opacity, heatmap]);

  const viewport = () => viewportRef.current;
  const applyPreset = (preset: Preset) => {
    const v = viewport();
    if (v === null) return;
    if (preset.voi === null) v.resetProperties();
    else {
      const { center, width } = preset.voi;
      v.setProperties({ voiRange: { lower: center - width / 2, upper: center + width / 2 } });
    }
    v.render();
  };
  const changeWindow = (widthFactor: number, levelShift: number) => {
    const v = viewport();
    const range = v?.getProperties().voiRange;
    if (v === null || range === undefined) return;
    const width = (range.upper - range.lower) * widthFactor;
    const center = (range.upper + range.lower) / 2 + levelShift * (range.upper - range.lower);
    v.setProperties({ voiRange: { lower: center - width / 2, upper: center + width / 2 } });
    v.render();
  };
  const zoom = (factor: number) => {
    const v = viewport();
    if (v === null) return;
    v.setZoom(v.getZoom() * factor);
    v.render();
  };
  const pan = (dx: number, dy: number) => {
    const v = viewport();
    if (v === null) return;
    const [x, y] = v.getPan();
    v.setPan([x + dx, y + dy]);
    v.render();
  };
  const step = (delta: number) => {
    const v = viewport();
    if (v === null) return;
    const next = Math.min(Math.max(v.getCurrentImageIdIndex() + delta, 0), v.getImageIds().length - 1);
    void v.setImageIdIndex(next);
  };
  const reset = () => {
    const v = viewport();
    if (v === null) return;
    v.resetCamera();
    v.resetProperties();
    v.render();
  };
  const keys = (event: KeyboardEvent<HTMLDivElement>) => {
    const moves: Record<string, () => void> = {
      ArrowUp: () => { if (event.shiftKey) pan(0, -20); else step(-1); },
      ArrowDown: () => { if (event.shiftKey) pan(0, 20); else step(1); },
      ArrowLeft: () => { if (event.shiftKey) pan(-20, 0); },
      ArrowRight: () => { if (event.shiftKey) pan(20, 0); },
      PageUp: () => { step(-1); },
      PageDown: () => { step(1); },
      '+': () => { zoom(1.2); },
      '=': () => { zoom(1.2); },
      '-': () => { zoom(1 / 1.2); },
      '[': () => { changeWindow(1 / 1.2, 0); },
      ']': () => { changeWindow(1.2, 0); },
      ',': () => { changeWindow(1, -0.05); },
      '.': () => { changeWindow(1, 0.05); },
      r: reset,
      R: reset,
    };
    const move = moves[event.key];
    if (move === undefined) return;
    event.preventDefault();
    move();
  };

  return (
    <section className="viewer" aria-label="Image viewer">
      <div className="viewer-tools" role="toolbar" aria-label="Viewer controls">
        {presets.map((preset) => (
          <button key={preset.name} type="button" onClick={() => { applyPreset(preset); }}>
            {preset.name === 'Image' ? 'Image window' : preset.name}
          </button>
        ))}
        <button type="button" onClick={() => { zoom(1.2); }} aria-label="Zoom in">+</button>
        <button type="button" onClick={() => { zoom(1 / 1.2); }} aria-label="Zoom out">−</button>
        <button type="button" onClick={reset}>Reset</button>
        {slice.count > 1 && (
          <>
            <button type="button" onClick={() => { step(-1); }} aria-label="Previous slice">▲</button>
            <button type="button" onClick={() => { step(1); }} aria-label="Next slice">▼</button>
          </>
        )}
      </div>
      <div
        className="viewport-frame"
        data-testid="viewport"
        data-drawn={drawn ? 'yes' : 'no'}
      >
        {/* the viewport takes keys (slice, zoom, pan, window): an application widget */}
        {/* eslint-disable jsx-a11y/no-noninteractive-element-interactions, jsx-a11y/no-noninteractive-tabindex */}
        <div
          ref={element}
          className="viewport"
          tabIndex={0}
          role="application"
          aria-label={`${series.modality} series ${series.description ?? series.series_uid}. ${KEYS_HELP}`}
          onKeyDown={keys}
          onContextMenu={(event) => { event.preventDefault(); }}
        />
        {/* eslint-enable jsx-a11y/no-noninteractive-element-interactions, jsx-a11y/no-noninteractive-tabindex */}
        <canvas ref={overlay} className="overlay" aria-hidden="true" data-testid="overlay" />
      </div>
      <p className="viewer-status" aria-live="polite">
        {status !== '' ? status : slice.count > 1 ? `Slice ${slice.index + 1} of ${slice.count}` : ''}
      </p>
    </section>
  );
}

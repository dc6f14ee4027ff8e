import dagre from '@dagrejs/dagre';
import type { TaskStatus } from '@strata/db';

/** A node of the graph: what it is called, a second line, and (for executions) its task status. */
export interface DagNode {
  id: string;
  label: string;
  sublabel?: string;
  status?: TaskStatus;
}

/** `from` must finish before `to` (an arrow from the dependency to its dependant). */
export interface DagEdge {
  from: string;
  to: string;
}

export interface PlacedNode extends DagNode {
  x: number;
  y: number;
  /** Ids of the nodes this one depends on and of those depending on it. */
  after: string[];
  before: string[];
}

export interface PlacedEdge extends DagEdge {
  /** SVG path data. */
  path: string;
}

export interface DagLayout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
}

export const NODE_WIDTH = 184;
export const NODE_HEIGHT = 52;
const MARGIN = 16;

/**
 * Lays the graph out left to right with dagre (dependencies before dependants). Edges naming an
 * unknown node are left out, so a graph being edited still draws. Nodes come back in reading
 * order (by column, then top to bottom), the order keyboard navigation follows.
 */
export function layoutDag(nodes: readonly DagNode[], edges: readonly DagEdge[], direction: 'LR' | 'TB' = 'LR'): DagLayout {
  const graph = new dagre.graphlib.Graph({ multigraph: false });
  graph.setGraph({ rankdir: direction, nodesep: 18, ranksep: 56, marginx: MARGIN, marginy: MARGIN });
  graph.setDefaultEdgeLabel(() => ({}));
  const known = new Set<string>();
  for (const node of nodes) {
    if (known.has(node.id)) continue;
    known.add(node.id);
    graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  }
  const kept = edges.filter((edge) => known.has(edge.from) && known.has(edge.to) && edge.from !== edge.to);
  for (const edge of kept) graph.setEdge(edge.from, edge.to);
  dagre.layout(graph);

  const after = new Map<string, string[]>();
  const before = new Map<string, string[]>();
  for (const edge of kept) {
    after.set(edge.to, [...(after.get(edge.to) ?? []), edge.from]);
    before.set(edge.from, [...(before.get(edge.from) ?? []), edge.to]);
  }
  const seen = new Set<string>();
  const placed: PlacedNode[] = [];
  for (const node of nodes) {
    if (seen.has(node.id)) continue;
    seen.add(node.id);
    const { x, y } = graph.node(node.id);
    placed.push({ ...node, x: x - NODE_WIDTH / 2, y: y - NODE_HEIGHT / 2, after: after.get(node.id) ?? [], before: before.get(node.id) ?? [] });
  }
  placed.sort((a, b) => (direction === 'LR' ? a.x - b.x || a.y - b.y : a.y - b.y || a.x - b.x));
  const label = graph.graph();
  return {
    width: Math.ceil(label.width ?? 0),
    height: Math.ceil(label.height ?? 0),
    nodes: placed,
    edges: kept.map((edge) => {
      const points = graph.edge(edge.from, edge.to)?.points ?? [];
      return { ...edge, path: points.map((p: { x: number; y: number }, i: number) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ') };
    }),
  };
}

/** A layout's identity: it changes only when nodes, their labels or edges do, not with statuses. */
export function layoutKey(nodes: readonly DagNode[], edges: readonly DagEdge[]): string {
  return JSON.stringify([nodes.map((n) => [n.id, n.label, n.sublabel ?? '']), edges.map((e) => [e.from, e.to])]);
}

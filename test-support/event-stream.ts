/** A Server-Sent Events client for tests: reads a `text/event-stream` response event by event. */
export interface ServerSentEvent {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
}

export interface EventStreamReader {
  readonly status: number;
  readonly headers: Headers;
  /**
   * The next event, or null when the server ended the stream. `retry:` lines are skipped, and so
   * are comments (heartbeats) unless `comments` is set: then a comment comes as event "comment".
   */
  next(options?: { comments?: boolean }): Promise<ServerSentEvent | null>;
  /** Lines starting with ':' seen so far (heartbeats). */
  readonly comments: string[];
  close(): Promise<void>;
}

export async function openEventStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<EventStreamReader> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: "text/event-stream", ...headers },
    signal: controller.signal,
  });
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const comments: string[] = [];

  const next = async (options: { comments?: boolean } = {}): Promise<ServerSentEvent | null> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: { id?: string; event: string; data: string[] } = { event: "message", data: [] };
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) comments.push(line);
          else if (line.startsWith("id: ")) event.id = line.slice(4);
          else if (line.startsWith("event: ")) event.event = line.slice(7);
          else if (line.startsWith("data: ")) event.data.push(line.slice(6));
        }
        if (event.data.length) {
          return { ...(event.id ? { id: event.id } : {}), event: event.event, data: event.data.join("\n") };
        }
        const comment = block.split("\n").find((line) => line.startsWith(":"));
        if (options.comments && comment) return { event: "comment", data: comment };
        continue;
      }
      if (!reader) return null;
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) return null;
      buffer += decoder.decode(chunk.value, { stream: true });
    }
  };

  return {
    status: response.status,
    headers: response.headers,
    next,
    comments,
    async close() {
      controller.abort();
      await reader?.cancel().catch(() => undefined);
    },
  };
}

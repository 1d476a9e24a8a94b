// Server-Sent Events from a fetch() response body, frame by frame: {event, data, id}.
// The CLI follows the LwM2M server's /api/event with it, the tests too.
export async function* sseFrames(body) {
	const decoder = new TextDecoder();
	let buffer = "";
	for await (const chunk of body) {
		buffer += decoder.decode(chunk, { stream: true });
		let end;
		while ((end = buffer.indexOf("\n\n")) >= 0) {
			const frame = buffer.slice(0, end);
			buffer = buffer.slice(end + 2);
			const data = /^data: (.*)$/m.exec(frame)?.[1];
			if (data === undefined) continue;
			yield { event: /^event: (.*)$/m.exec(frame)?.[1], id: /^id: (.*)$/m.exec(frame)?.[1], data: JSON.parse(data) };
		}
	}
}

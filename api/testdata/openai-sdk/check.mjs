// Drives attune's OpenAI-compatible routes with the official OpenAI SDK:
// chat, streaming chat, completions and a missing model, against each base
// URL given. Prints one JSON line of findings and exits non-zero on the
// first failure. Usage: node check.mjs KEY MODEL BASE_URL...
import OpenAI from "openai";

const [key, model, ...bases] = process.argv.slice(2);

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function run(baseURL) {
  const client = new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
  const messages = [{ role: "user", content: "Name a noble gas." }];

  const chat = await client.chat.completions.create({ model, messages, max_tokens: 4, temperature: 0 });
  check(chat.object === "chat.completion", `chat object ${chat.object}`);
  check(typeof chat.choices[0].message.content === "string", "chat content is not a string");
  check(chat.usage.completion_tokens >= 1, "chat usage has no completion tokens");

  const stream = await client.chat.completions.create({ model, messages, max_tokens: 4, temperature: 0, stream: true });
  let text = "";
  let finish = null;
  let timing = null;
  for await (const chunk of stream) {
    if (chunk.object === "timing") {
      timing = chunk.timing;
      continue;
    }
    const choice = chunk.choices?.[0];
    text += choice?.delta?.content ?? "";
    finish = choice?.finish_reason ?? finish;
  }
  check(finish === "stop" || finish === "length", `stream finish_reason ${finish}`);
  check(text === chat.choices[0].message.content, `greedy stream ${JSON.stringify(text)} differs from chat ${JSON.stringify(chat.choices[0].message.content)}`);
  check(timing && timing.total_seconds > 0, "stream has no timing frame");

  const cmpl = await client.completions.create({ model, prompt: "Hydrogen is", max_tokens: 3, temperature: 0 });
  check(cmpl.object === "text_completion", `completion object ${cmpl.object}`);
  check(typeof cmpl.choices[0].text === "string", "completion text is not a string");

  let status = 0;
  try {
    await client.chat.completions.create({ model: "no-such-model", messages, max_tokens: 2 });
  } catch (err) {
    status = err.status;
    check(err instanceof OpenAI.NotFoundError, `missing model raised ${err.constructor.name}`);
  }
  check(status === 404, `missing model answered ${status}, want 404`);
  return { baseURL, chat: chat.choices[0].message.content, streamed: text, completion: cmpl.choices[0].text };
}

try {
  const results = [];
  for (const base of bases) results.push(await run(base));
  console.log(JSON.stringify({ ok: true, results }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err?.message ?? err) }));
  process.exit(1);
}

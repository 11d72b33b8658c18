// The official openai npm package against a running `aded serve` (started by run.sh): completions
// and chat completions, streamed and not, greedy, with usage; and an error the client surfaces.
// Exits non-zero on the first failed check.
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.ADED_URL + "/v1", apiKey: process.env.ADED_API_KEY, maxRetries: 0 });
const prompt = 'def read_config(path):\n    """Read the configuration file."""\n';

const models = await client.models.list();
assert.equal(models.data.length, 1);
const model = models.data[0].id;

const whole = await client.completions.create({ model, prompt, max_tokens: 32, temperature: 0 });
assert.equal(whole.object, "text_completion");
assert.equal(whole.usage.completion_tokens, 32);
assert.ok(whole.choices[0].text.length > 0);

let streamed = "";
let finish = null;
const stream = await client.completions.create({ model, prompt, max_tokens: 32, temperature: 0, stream: true });
for await (const chunk of stream) {
  streamed += chunk.choices[0].text;
  finish = chunk.choices[0].finish_reason ?? finish;
}
assert.equal(streamed, whole.choices[0].text, "the stream spells the same text");
assert.equal(finish, "length");

const speculative = await client.completions.create({ model, prompt, max_tokens: 32, temperature: 0, speculative: { method: "pld" } });
assert.equal(speculative.choices[0].text, whole.choices[0].text, "speculation does not change greedy output");
assert.equal(speculative.timings.speculative_method, "pld");

const messages = [{ role: "system", content: "You write Python." }, { role: "user", content: "def main():" }];
const chat = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0 });
assert.equal(chat.choices[0].message.role, "assistant");
let chatStreamed = "";
const chatStream = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, stream: true });
for await (const chunk of chatStream) chatStreamed += chunk.choices[0]?.delta?.content ?? "";
assert.equal(chatStreamed, chat.choices[0].message.content);

await assert.rejects(client.completions.create({ model, prompt, max_tokens: -1 }), (e) => {
  assert.equal(e.status, 400);
  assert.equal(e.param, "max_tokens");
  return true;
});

console.log("openai npm client: completions, chat, streamed and not, and errors: ok");

// Template renders per second: a lone reference and the weather workflow's longest output template,
// with the parse cache and without it (a fresh parse every time). Last line: one JSON object.
import { TemplateEngine } from '../dist/expr/template.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 1000);
const context = {
  workflow: { input: { city: 'San Francisco' } },
  tasks: {
    weather: { output: { weather: 'Sunny', temperature: 21, humidity: 40 } },
    activities: { output: { activities: ['hike', 'museum', 'picnic'] } },
    activity_analysis: {
      output: { output: { detailed_recommendations: {}, analyzed_count: '3' } },
      children: { 'analyze-activity-0': { id: 'analyze-activity-0', status: 'SUCCESS', output: { analysis: 'great' } } },
    },
    clothing: { output: { save_data: { clothing: ['jacket', 'hat'] } } },
  },
  status: 'SUCCESS',
};
const simple = '{{ .workflow.input.city }}';
const weatherOutputs = `{"city": "{{ .workflow.input.city }}", "weather": {{ toJson .tasks.weather.output }}, "activities": {{ toJson .tasks.activities.output.activities }}, "analysis": {{ toJson .tasks.activity_analysis.children }}, "first": {{ toJson (index .tasks.activity_analysis.children "analyze-activity-0") }}, "clothing": "{{ .tasks.clothing.output.save_data.clothing | empty | ternary "no_clothes" "has_clothes" }}", "task_count": {{ len .tasks }}, "status": "{{ .status | default "completed" }}"}`;

function measure(render) {
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < DURATION_MS) {
    for (let i = 0; i < 100; i++) render();
    n += 100;
  }
  return Math.round(n / ((performance.now() - started) / 1000));
}

const cached = new TemplateEngine();
const uncached = new TemplateEngine(0);
const figures = {
  simple_cached_renders_per_s: measure(() => cached.renderValue(simple, context)),
  simple_uncached_renders_per_s: measure(() => uncached.renderValue(simple, context)),
  weather_outputs_cached_renders_per_s: measure(() => cached.renderValue(weatherOutputs, context)),
  weather_outputs_uncached_renders_per_s: measure(() => uncached.renderValue(weatherOutputs, context)),
  target_simple_renders_per_s: 200000,
};
for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(40)} ${value}`);
console.log(JSON.stringify(figures));

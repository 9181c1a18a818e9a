// The project's tools, by id: compozy runs them in a warm pool of Node processes.
export default {
  format_greeting: async (input: { name: string }) => ({ greeting: `Hello, ${input.name}!` }),
};

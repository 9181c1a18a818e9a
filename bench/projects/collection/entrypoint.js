export default {
  greet: async (input) => ({ greeting: `Hello, ${input.name}!` }),
};

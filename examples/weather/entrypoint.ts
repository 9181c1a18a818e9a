// The weather project's tools, by id. compozy runs them in its warm pool of Node processes.
import { saveData } from './save_data_tool.ts';
import { weatherTool } from './weather_tool.ts';

export default {
  weather_tool: weatherTool,
  save_data: saveData,
};

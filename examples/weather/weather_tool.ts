interface WeatherInput {
  city: string;
}

export interface Weather {
  temperature: number;
  humidity: number;
  weather: string;
}

/** What the tool answers when Open-Meteo cannot be reached (offline runs, CI). */
export const DEFAULT_WEATHER: Weather = { temperature: 20, humidity: 50, weather: 'Clear sky' };

const CODES: Record<number, string> = {
  0: 'Clear sky', 1: 'Mainly clear', 2: 'Partly cloudy', 3: 'Overcast', 45: 'Fog', 48: 'Depositing rime fog',
  51: 'Light drizzle', 53: 'Drizzle', 55: 'Dense drizzle', 61: 'Slight rain', 63: 'Rain', 65: 'Heavy rain',
  71: 'Slight snow', 73: 'Snow', 75: 'Heavy snow', 80: 'Rain showers', 81: 'Rain showers', 82: 'Violent rain showers',
  95: 'Thunderstorm', 96: 'Thunderstorm with hail', 99: 'Thunderstorm with heavy hail',
};

async function getJson(url: string): Promise<any> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

/** Current weather for a city from Open-Meteo (geocoding, then the forecast API). */
export async function weatherTool(input: WeatherInput): Promise<Weather> {
  try {
    const geo = await getJson(`https://geocoding-api.open-meteo.com/v1/search?name=${encodeURIComponent(input.city)}&count=1`);
    const place = geo.results?.[0];
    if (!place) throw new Error(`no place called ${input.city}`);
    const forecast = await getJson(
      `https://api.open-meteo.com/v1/forecast?latitude=${place.latitude}&longitude=${place.longitude}&current=temperature_2m,relative_humidity_2m,weather_code`,
    );
    const current = forecast.current;
    return { temperature: current.temperature_2m, humidity: current.relative_humidity_2m, weather: CODES[current.weather_code] ?? 'Unknown' };
  } catch (error) {
    console.log(`Open-Meteo is not reachable (${(error as Error).message}); answering the default weather`);
    return DEFAULT_WEATHER;
  }
}

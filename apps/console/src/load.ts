import { useCallback, useEffect, useRef, useState } from "react";

/** Loads data for a page, again when `deps` change or on reload(); the last answer wins. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const generation = useRef(0);
  const latest = useRef(load);
  latest.current = load;
  const reload = useCallback(() => {
    const mine = ++generation.current;
    latest.current().then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
      },
      (reason: unknown) => {
        if (mine === generation.current) setError(reason instanceof Error ? reason : new Error(String(reason)));
      },
    );
  }, []);
  const key = JSON.stringify(deps);
  // biome-ignore lint/correctness/useExhaustiveDependencies: loads again when what it depends on (key) changes
  useEffect(reload, [reload, key]);
  return { data, error, reload, setData };
}

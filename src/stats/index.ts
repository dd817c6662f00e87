// Statistics shared by every layer (engine, loop, CLI, panel host): one generator, one bootstrap.
export { seededRandom } from './prng';
export {
  bootstrapInterval,
  DEFAULT_RESAMPLES,
  meanAccuracy,
  meanScore,
  groupDifference,
  holmAdjust,
  pairedDifference,
  signFlipPValue,
  stratifiedInterval,
  type BootstrapOptions,
  type GroupDifference,
  type Interval,
  type ItemOutcomes,
  type PairedDifference,
} from './bootstrap';

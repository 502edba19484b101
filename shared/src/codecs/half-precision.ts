// Conversion between float32 and IEEE 754 binary16 (half precision) bit patterns, done by hand
// because Node 20 has no Float16Array. Half precision has 1 sign bit, 5 exponent bits (bias 15)
// and 10 fraction bits, so normal values keep a relative error of at most 2^-11.

/** Largest finite half-precision value, 0x7bff. */
export const HALF_MAX = 65504;

const HALF_MAX_BITS = 0x7bff;
const HALF_INFINITY_BITS = 0x7c00;

// One float32 slot seen both as a number and as its bit pattern.
const floatSlot = new Float32Array(1);
const floatBits = new Uint32Array(floatSlot.buffer);

/** Shifts `value` right by `shift` bits and rounds the dropped bits to nearest, ties to even. */
function shiftRightRoundingToEven(value: number, shift: number): number {
  const truncated = value >>> shift;
  const dropped = value & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (dropped > halfway || (dropped === halfway && (truncated & 1) === 1)) return truncated + 1;
  return truncated;
}

/**
 * Converts a finite number to half-precision bits, rounding to nearest even after the float32
 * conversion. Magnitudes that would round to infinity clamp to ±65504.
 */
export function floatToHalfBits(value: number): number {
  floatSlot[0] = value;
  const bits = floatBits[0];
  const sign = (bits >>> 16) & 0x8000;
  const floatExponent = (bits >>> 23) & 0xff;
  const fraction = bits & 0x7fffff;

  // Re-bias the exponent from float32 (127) to half (15).
  const halfExponent = floatExponent - 127 + 15;

  // Half values below 2^-25 round to zero, and this also covers float32 zeros and subnormals.
  if (halfExponent < -10) return sign;

  let magnitude: number;
  if (halfExponent <= 0) {
    // Subnormal half: the value is significand × 2^-24, where the float32 significand with its
    // implicit leading bit is shifted right by 14 − halfExponent bits. A carry out of the
    // fraction yields the smallest normal half, whose bits follow on directly.
    magnitude = shiftRightRoundingToEven(fraction | 0x800000, 14 - halfExponent);
  } else {
    // Normal half: keep the top 10 of the 23 fraction bits. A carry out of the fraction
    // increments the exponent, which is the correctly rounded result.
    magnitude = (halfExponent << 10) + shiftRightRoundingToEven(fraction, 13);
  }

  if (magnitude >= HALF_INFINITY_BITS) return sign | HALF_MAX_BITS;
  return sign | magnitude;
}

/** Converts half-precision bits to a number. Exponent 31 decodes to ±Infinity or NaN, as IEEE 754 defines. */
export function halfBitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;

  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

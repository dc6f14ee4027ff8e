export { type AddressClass, allowListSet, canonicalHost, classifyAddress, isPublicAddress, parseIPv4, parseIPv6 } from './address.ts';
export { isAddressLiteral, pinnedLookup, refusedAddress, refusedAsWritten } from './guard.ts';

import { createContext, useContext } from 'react';
import { can, type Role, type Session } from './api.ts';

/** The signed-in user; pages ask `useCan(role)` what to show (the server enforces it again). */
export const SessionContext = createContext<Session | undefined>(undefined);
export const useSession = () => useContext(SessionContext)!;
export const useCan = (needed: Role) => can(useContext(SessionContext)?.user.role, needed);

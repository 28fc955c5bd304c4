//! Depth payloads: partial depth snapshots and `depthUpdate` diffs.
//!
//! Levels are `Vec`s: decoding a depth payload allocates one vector per non-empty
//! side. Diffs usually carry a handful of levels, so the cost is two small
//! allocations per event; an inline small-vector would make every [`Event`]
//! (and so every frame) several hundred bytes larger instead.
//!
//! [`Event`]: super::Event

use crate::domain::decimal::Level;
use crate::domain::symbol::Symbol;
use crate::domain::time::Timestamp;
use crate::domain::wire::wire_struct;

wire_struct! {
    /// `<s>@depth<L>[@100ms]`: the top `L` levels of the book. The payload has no
    /// event type and no symbol: the stream name says which book it is.
    pub struct PartialDepth as "partial depth" {
        /// `lastUpdateId`: the book's update id when the snapshot was taken.
        "lastUpdateId" => last_update_id: u64,
        /// `bids`: best first.
        "bids" => bids: Vec<Level>,
        /// `asks`: best first.
        "asks" => asks: Vec<Level>,
    }
}

wire_struct! {
    /// `<s>@depth[@100ms]`: changes to the book since the previous event.
    ///
    /// Each level's quantity is the new absolute quantity; zero removes the level.
    /// In steady state `first_update_id` is the previous event's
    /// `final_update_id + 1` (PROTOCOL.md §5).
    pub struct DepthUpdate as "depthUpdate" {
        tag "e" = "depthUpdate";
        /// `E`: when the event was sent.
        "E" => event_time: Timestamp,
        /// `s`: the symbol.
        "s" => symbol: Symbol,
        /// `U`: the first update id in this event.
        "U" => first_update_id: u64,
        /// `u`: the final update id in this event.
        "u" => final_update_id: u64,
        /// `b`: bid levels to change.
        "b" => bids: Vec<Level>,
        /// `a`: ask levels to change.
        "a" => asks: Vec<Level>,
    }
}

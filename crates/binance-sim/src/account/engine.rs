//! The order engine: accounts' orders against the simulated book.
//!
//! A new order first locks what it may spend, then takes whatever it crosses as one
//! market action (public `trade`/`aggTrade` events, ids contiguous with the market's),
//! then rests on the book (GTC) or expires (IOC, FOK, MARKET). A resting order is
//! filled when a taker, the market's or an account's, reaches it in price-time
//! priority; those fills come back from the market as maker fills and are settled by
//! [`Ledger::settle`]. Every change sends `executionReport`s and one
//! `outboundAccountPosition` per account with the assets that changed.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::events::ExecutionReport;
use super::order::{AccountTrade, Order, OrderSide, OrderStatus, OrderType, TimeInForce};
use super::{Ledger, Permission};
use crate::decimal::Fixed;
use crate::market::{Interest, SymbolMarket};
use crate::payload::Published;
use crate::rest::params::ApiError;

/// The response shape of a new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RespType {
    /// Ids only.
    Ack,
    /// The order's state.
    Result,
    /// The order's state and its fills.
    Full,
}

/// A new order, validated in form (not yet against the market or balances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewOrder {
    pub(crate) side: OrderSide,
    pub(crate) kind: OrderType,
    /// GTC for `LIMIT_MAKER` and `MARKET` orders, as Binance reports them.
    pub(crate) tif: TimeInForce,
    /// Zero for market orders.
    pub(crate) price: Fixed,
    pub(crate) qty: Fixed,
    pub(crate) client_order_id: Option<String>,
}

/// How a cancel names its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OrderQuery {
    /// `orderId`.
    Id(u64),
    /// `origClientOrderId`.
    ClientId(String),
}

/// One fill of a new order, for the `FULL` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlacedFill {
    pub(crate) price: Fixed,
    pub(crate) qty: Fixed,
    pub(crate) commission: Fixed,
    pub(crate) commission_asset: String,
    pub(crate) trade_id: u64,
}

/// A placed order as it stands after its immediate fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placed {
    pub(crate) order: Order,
    pub(crate) fills: Vec<PlacedFill>,
}

/// What an `executionReport` reports besides the order's state.
struct Execution {
    kind: &'static str,
    last_qty: Fixed,
    last_price: Fixed,
    commission: Option<(Fixed, String)>,
    trade_id: i64,
    maker: bool,
    cancel_client_id: Option<String>,
}

impl Execution {
    fn plain(kind: &'static str) -> Self {
        Execution {
            kind,
            last_qty: Fixed::ZERO,
            last_price: Fixed::ZERO,
            commission: None,
            trade_id: -1,
            maker: false,
            cancel_client_id: None,
        }
    }
}

/// -2010 with `msg`.
fn rejected(msg: &str) -> ApiError {
    ApiError::bad(-2010, msg)
}

/// -2011: the order to cancel is unknown or closed.
fn unknown_order() -> ApiError {
    ApiError::bad(-2011, "Unknown order sent.")
}

impl Ledger {
    fn next_execution(&mut self) -> u64 {
        self.next_execution_id += 1;
        self.next_execution_id
    }

    fn report(&mut self, account: usize, order: &Order, exec: Execution, now: u64) {
        let (c, big_c) = match exec.cancel_client_id {
            Some(cancel_id) => (cancel_id, order.client_order_id.clone()),
            None => (order.client_order_id.clone(), String::new()),
        };
        let (n, commission_asset) = match exec.commission {
            Some((amount, asset)) if !amount.is_zero() => (amount.to_string(), Some(asset)),
            _ => ("0".to_owned(), None),
        };
        let event = ExecutionReport {
            e: "executionReport",
            E: now,
            s: order.symbol.clone(),
            c,
            S: order.side.as_str(),
            o: order.kind.as_str(),
            f: order.tif.as_str(),
            q: order.orig_qty,
            p: order.price,
            P: Fixed::ZERO,
            F: Fixed::ZERO,
            g: -1,
            C: big_c,
            x: exec.kind,
            X: order.status.as_str(),
            r: "NONE",
            i: order.order_id,
            l: exec.last_qty,
            z: order.executed,
            L: exec.last_price,
            n,
            N: commission_asset,
            T: now,
            t: exec.trade_id,
            I: self.next_execution(),
            w: order.on_book,
            m: exec.maker,
            M: false,
            O: order.time,
            Z: order.cum_quote,
            Y: exec.last_price.times(exec.last_qty),
            Q: Fixed::ZERO,
            W: order.time,
            V: "NONE",
        };
        self.emit(account, &event);
    }

    /// Places `request` for `account` on `market` at `now`; public events go to `out`.
    ///
    /// # Errors
    /// -2015 without the trade permission; -1013 for a price or quantity off the
    /// symbol's tick or step; -2010 for insufficient balance, a post-only order that
    /// would take, or a client order id already in use by an open order.
    pub(crate) fn place(
        &mut self,
        account: usize,
        market: &mut SymbolMarket,
        request: NewOrder,
        now: u64,
        out: &mut Vec<Arc<Published>>,
        interest: &dyn Interest,
    ) -> Result<Placed, ApiError> {
        let spec = market.spec().clone();
        let acc = self
            .accounts
            .get(account)
            .filter(|a| a.may(Permission::Trade))
            .ok_or_else(super::auth::rejected_key)?;
        let tick = spec.tick_size.0.max(1);
        let step = spec.step_size.0.max(1);
        if request.kind != OrderType::Market
            && (request.price.0 <= 0 || request.price.0 % tick != 0)
        {
            return Err(ApiError::bad(-1013, "Filter failure: PRICE_FILTER"));
        }
        if request.qty.0 <= 0 || request.qty.0 % step != 0 {
            return Err(ApiError::bad(-1013, "Filter failure: LOT_SIZE"));
        }
        if let Some(id) = &request.client_order_id
            && acc
                .orders
                .values()
                .any(|o| o.status.is_open() && &o.client_order_id == id)
        {
            return Err(rejected("Duplicate order sent."));
        }
        let book_side = request.side.book_side();
        let limit = (request.kind != OrderType::Market).then_some(request.price);
        let preview = market.preview_take(book_side, request.qty, limit);
        if request.kind == OrderType::LimitMaker && !preview.is_empty() {
            return Err(rejected("Order would immediately match and take."));
        }
        let (reserve_asset, need) = match (request.side, request.kind) {
            (OrderSide::Buy, OrderType::Market) => (
                spec.quote_asset.clone(),
                Fixed(preview.iter().map(|(p, q)| p.times(*q).0).sum()),
            ),
            (OrderSide::Buy, _) => (spec.quote_asset.clone(), request.price.times(request.qty)),
            (OrderSide::Sell, _) => (spec.base_asset.clone(), request.qty),
        };
        let free = acc
            .balances
            .get(&reserve_asset)
            .copied()
            .unwrap_or_default()
            .free;
        if free.0 < need.0 {
            return Err(rejected(
                "Account has insufficient balance for requested action.",
            ));
        }
        self.next_order_id += 1;
        let order_id = self.next_order_id;
        let order = Order {
            symbol: Arc::from(spec.symbol.as_str()),
            order_id,
            client_order_id: request
                .client_order_id
                .clone()
                .unwrap_or_else(|| format!("sim{order_id:019}")),
            side: request.side,
            kind: request.kind,
            tif: request.tif,
            price: request.price,
            orig_qty: request.qty,
            executed: Fixed::ZERO,
            cum_quote: Fixed::ZERO,
            status: OrderStatus::New,
            time: now,
            update_time: now,
            on_book: request.kind != OrderType::Market && request.tif == TimeInForce::Gtc,
            reserved: need,
            reserve_asset: reserve_asset.clone(),
            base_asset: spec.base_asset.clone(),
            quote_asset: spec.quote_asset.clone(),
        };
        let mut changed = BTreeSet::from([reserve_asset.clone()]);
        if let Some(acc) = self.accounts.get_mut(account) {
            let balance = acc.balance(&reserve_asset);
            balance.free = Fixed(balance.free.0 - need.0);
            balance.locked = Fixed(balance.locked.0 + need.0);
            acc.update_time = now;
            acc.orders.insert(order_id, order.clone());
        }
        self.owners.insert(order_id, account);
        self.report(account, &order, Execution::plain("NEW"), now);

        let fillable: i64 = preview.iter().map(|(_, q)| q.0).sum();
        let kill = request.tif == TimeInForce::Fok && fillable < request.qty.0;
        let mut fills = Vec::new();
        if !preview.is_empty() && !kill {
            for fill in market.account_take(book_side, request.qty, limit, now, out, interest) {
                let commission = self.apply_fill(
                    account,
                    order_id,
                    fill.price,
                    fill.qty,
                    fill.trade_id,
                    now,
                    false,
                    &mut changed,
                );
                if let Some((commission, commission_asset)) = commission {
                    fills.push(PlacedFill {
                        price: fill.price,
                        qty: fill.qty,
                        commission,
                        commission_asset,
                        trade_id: fill.trade_id,
                    });
                }
            }
        }
        let rest = self.order(account, order_id).filter(|o| o.status.is_open());
        if let Some(open) = rest {
            if open.on_book {
                market.account_rest(
                    book_side,
                    open.price,
                    open.remaining(),
                    order_id,
                    out,
                    interest,
                );
            } else {
                self.close(
                    account,
                    order_id,
                    OrderStatus::Expired,
                    None,
                    now,
                    &mut changed,
                );
            }
        }
        self.emit_positions(account, &changed, now);
        // Self-trades and fills of other accounts' orders by this taker.
        self.settle(market, now);
        let order = self.order(account, order_id).ok_or_else(|| {
            ApiError::bad(
                -1000,
                "An unknown error occurred while processing the request.",
            )
        })?;
        Ok(Placed { order, fills })
    }

    fn order(&self, account: usize, order_id: u64) -> Option<Order> {
        self.accounts.get(account)?.orders.get(&order_id).cloned()
    }

    /// Applies one fill to an order and its account, sends its `executionReport` and
    /// returns the commission charged (`None` when the order is unknown).
    #[allow(
        clippy::too_many_arguments,
        reason = "one fill's terms; a struct would only rename them"
    )]
    fn apply_fill(
        &mut self,
        account: usize,
        order_id: u64,
        price: Fixed,
        qty: Fixed,
        trade_id: u64,
        now: u64,
        maker: bool,
        changed: &mut BTreeSet<String>,
    ) -> Option<(Fixed, String)> {
        let acc = self.accounts.get_mut(account)?;
        let rate = if maker {
            acc.commission.maker
        } else {
            acc.commission.taker
        };
        let mut order = acc.orders.get(&order_id)?.clone();
        let quote = price.times(qty);
        let (spent, got_asset, got) = match order.side {
            OrderSide::Buy => (quote, order.base_asset.clone(), qty),
            OrderSide::Sell => (qty, order.quote_asset.clone(), quote),
        };
        let commission = got.times(rate);
        let reserve = acc.balance(&order.reserve_asset);
        reserve.locked = Fixed(reserve.locked.0 - spent.0);
        let received = acc.balance(&got_asset);
        received.free = Fixed(received.free.0 + got.0 - commission.0);
        order.reserved = Fixed(order.reserved.0 - spent.0);
        order.executed = Fixed(order.executed.0 + qty.0);
        order.cum_quote = Fixed(order.cum_quote.0 + quote.0);
        order.update_time = now;
        order.status = if order.remaining().0 <= 0 {
            order.on_book = false;
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        changed.insert(order.reserve_asset.clone());
        changed.insert(got_asset.clone());
        acc.trades.push(AccountTrade {
            symbol: order.symbol.clone(),
            id: trade_id,
            order_id,
            price,
            qty,
            quote_qty: quote,
            commission,
            commission_asset: got_asset.clone(),
            time: now,
            is_buyer: order.side == OrderSide::Buy,
            is_maker: maker,
        });
        acc.update_time = now;
        if order.status == OrderStatus::Filled {
            release(acc, &mut order);
        }
        acc.orders.insert(order_id, order.clone());
        self.report(
            account,
            &order,
            Execution {
                kind: "TRADE",
                last_qty: qty,
                last_price: price,
                commission: Some((commission, got_asset.clone())),
                trade_id: i64::try_from(trade_id).unwrap_or(-1),
                maker,
                cancel_client_id: None,
            },
            now,
        );
        Some((commission, got_asset))
    }

    /// Ends an open order with `status`, releasing what it still holds.
    fn close(
        &mut self,
        account: usize,
        order_id: u64,
        status: OrderStatus,
        cancel_client_id: Option<String>,
        now: u64,
        changed: &mut BTreeSet<String>,
    ) -> Option<Order> {
        let acc = self.accounts.get_mut(account)?;
        let mut order = acc.orders.get(&order_id)?.clone();
        order.status = status;
        order.on_book = false;
        order.update_time = now;
        changed.insert(order.reserve_asset.clone());
        release(acc, &mut order);
        acc.update_time = now;
        acc.orders.insert(order_id, order.clone());
        let kind = match status {
            OrderStatus::Canceled => "CANCELED",
            _ => "EXPIRED",
        };
        let exec = Execution {
            cancel_client_id,
            ..Execution::plain(kind)
        };
        self.report(account, &order, exec, now);
        Some(order)
    }

    /// Cancels an open order of `account` on `market`.
    ///
    /// # Errors
    /// -2015 without the trade permission, -2011 for an unknown or closed order.
    #[allow(
        clippy::too_many_arguments,
        reason = "the cancel's terms plus the market context every ledger call takes"
    )]
    pub(crate) fn cancel(
        &mut self,
        account: usize,
        market: &mut SymbolMarket,
        query: &OrderQuery,
        new_client_id: Option<String>,
        now: u64,
        out: &mut Vec<Arc<Published>>,
        interest: &dyn Interest,
    ) -> Result<Order, ApiError> {
        let acc = self
            .accounts
            .get(account)
            .filter(|a| a.may(Permission::Trade))
            .ok_or_else(super::auth::rejected_key)?;
        let order = acc
            .orders
            .values()
            .find(|o| {
                &*o.symbol == market.symbol()
                    && match query {
                        OrderQuery::Id(id) => o.order_id == *id,
                        OrderQuery::ClientId(id) => &o.client_order_id == id && o.status.is_open(),
                    }
            })
            .filter(|o| o.status.is_open())
            .cloned()
            .ok_or_else(unknown_order)?;
        if order.on_book {
            market.account_cancel(
                order.side.book_side(),
                order.price,
                order.order_id,
                out,
                interest,
            );
        }
        let cancel_id = new_client_id.unwrap_or_else(|| {
            let id = self.next_execution_id + 1;
            format!("cancel{id:016}")
        });
        let mut changed = BTreeSet::new();
        let closed = self
            .close(
                account,
                order.order_id,
                OrderStatus::Canceled,
                Some(cancel_id.clone()),
                now,
                &mut changed,
            )
            .ok_or_else(unknown_order)?;
        self.emit_positions(account, &changed, now);
        Ok(Order {
            client_order_id: cancel_id,
            ..closed
        })
    }

    /// Settles the fills of accounts' resting orders that `market` collected.
    pub(crate) fn settle(&mut self, market: &mut SymbolMarket, now: u64) {
        if !market.has_maker_fills() {
            return;
        }
        let mut changed: Vec<(usize, BTreeSet<String>)> = Vec::new();
        for fill in market.take_maker_fills() {
            let Some(&account) = self.owners.get(&fill.order_id) else {
                continue;
            };
            let mut assets = BTreeSet::new();
            self.apply_fill(
                account,
                fill.order_id,
                fill.price,
                fill.qty,
                fill.trade_id,
                fill.time,
                true,
                &mut assets,
            );
            match changed.iter_mut().find(|(a, _)| *a == account) {
                Some((_, set)) => set.extend(assets),
                None => changed.push((account, assets)),
            }
        }
        for (account, assets) in changed {
            self.emit_positions(account, &assets, now);
        }
    }

    /// Open orders of `account`, of one symbol or all, oldest first.
    pub(crate) fn open_orders(&self, account: usize, symbol: Option<&str>) -> Vec<Order> {
        self.accounts.get(account).map_or_else(Vec::new, |acc| {
            acc.orders
                .values()
                .filter(|o| o.status.is_open() && symbol.is_none_or(|s| &*o.symbol == s))
                .cloned()
                .collect()
        })
    }

    /// The fills of `account` in `symbol`, oldest first (see `/api/v3/myTrades`).
    pub(crate) fn trades(&self, account: usize, symbol: &str) -> Vec<AccountTrade> {
        self.accounts.get(account).map_or_else(Vec::new, |acc| {
            acc.trades
                .iter()
                .filter(|t| &*t.symbol == symbol)
                .cloned()
                .collect()
        })
    }
}

/// Releases what `order` still holds back to the free balance.
fn release(acc: &mut super::Account, order: &mut Order) {
    let held = order.reserved;
    if held.0 != 0 {
        let balance = acc.balance(&order.reserve_asset);
        balance.locked = Fixed(balance.locked.0 - held.0);
        balance.free = Fixed(balance.free.0 + held.0);
        order.reserved = Fixed::ZERO;
    }
}
